"""State changes of statistics: each case's sealed facts, the snapshot, and releases.

The three ``case_facts_*`` functions are the hooks the case services call where a case is
written (they run in the caller's transaction, which audits): :func:`case_facts_build` when
cases are made (staff, the portal and brokers alike, through ``request_people_build``),
:func:`case_facts_record` after a journey move or a change of the person,
:func:`case_facts_forget` when a supervisor deletes a case. Each needs only the statistics key's
public half; none can read the facts back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from haven import access
from haven.audit.services import audit_record
from haven.crypto import KeyContext, facts_seal
from haven.db.rows import Rows
from haven.errors import ConflictError
from haven.stats import selectors
from haven.stats.facts import case_facts
from haven.stats.models import CaseFacts, CoverCategories, FactsSnapshot, Release, ReleaseStatus
from haven.stats.store import VOCABULARY_ID, FactsMatrix
from haven.stats.suppression import ROUND, SUPPRESS, Policy, ProtectionError, protect
from haven.stats.tables import TableSpec, check_range, month_text, parse_month
from haven.vault import integrity
from haven.vault.models import TeamKey
from haven.vault.sealed import blob_seal, data_key_create, payload_read, payload_set, record_update
from haven.vault.services import data_key_shred, statistics_key_ensure

if TYPE_CHECKING:
    from haven.accounts.models import User
    from haven.cases.models import Case, Request

MAX_TABLES = 20


# --- The hooks: each case's facts, sealed to the statistics key ------------------------------------


def _sealed(key: TeamKey, facts: dict[str, Any]) -> bytes:
    return facts_seal(bytes(key.public_key), facts)


def _statistics_key() -> TeamKey | None:
    """The statistics key to seal to, its public half checked against its integrity tag (a
    database writer who put their own public key there would otherwise receive every case's
    facts)."""
    key = statistics_key_ensure()
    if key is not None:
        integrity.team_key_check(key)
    return key


def statistics_key_checked() -> TeamKey | None:
    """The statistics key, checked, for a caller that seals many requests' facts at once (an
    import's chunk): pass it to :func:`case_facts_build` as ``key``."""
    return _statistics_key()


def case_facts_build(
    *,
    request: Request,
    cases: list[Case],
    payloads: list[dict[str, Any]],
    rows: Rows,
    key: TeamKey | None = None,
) -> None:
    """Seal the facts of a request's new cases into ``rows`` (written with them). Nothing
    before `haven setup` (no statistics key can exist yet). ``key``: the statistics key from
    :func:`statistics_key_checked`, when the caller looked it up once for many requests (the
    look-up and its integrity check cost more than the sealing)."""
    key = key or _statistics_key()
    if key is None or not cases:
        return
    rows.extend(
        CaseFacts(case=case, team_key=key, sealed=_sealed(key, facts))
        for case, facts in _new_case_facts(request=request, cases=cases, payloads=payloads)
    )


def _new_case_facts(
    *,
    request: Request,
    cases: list[Case],
    payloads: list[dict[str, Any]],
    events: Mapping[Any, list[tuple[str, str, dt.datetime]]] | None = None,
) -> Iterator[tuple[Case, dict[str, Any]]]:
    carrier = min(case.pk for case in cases)
    for case, person in zip(cases, payloads, strict=True):
        yield (
            case,
            case_facts(
                state=case.state,
                state_changed_at=case.state_changed_at,
                received_at=request.received_at,
                channel=request.channel,
                carries_request=case.pk == carrier,
                person=person,
                events=[
                    ("received", case.country, request.received_at),
                    *(events or {}).get(case.pk, []),
                ],
            ),
        )


def case_facts_restate(
    *,
    request: Request,
    cases: list[Case],
    payloads: list[dict[str, Any]],
    events: Mapping[Any, list[tuple[str, str, dt.datetime]]],
    rows: Rows,
    key: TeamKey | None = None,
) -> None:
    """Seal again, in ``rows``, the facts :func:`case_facts_build` made for a request's new
    cases, after the caller moved some of them on before writing (an import records the state
    its spreadsheet gives, with that step's journey event in ``events``: (to_state, country,
    occurred_at) per case id). Without it such a case would be counted as just received."""
    key = key or _statistics_key()
    if key is None or not cases:
        return
    sealed = {
        case.pk: _sealed(key, facts)
        for case, facts in _new_case_facts(
            request=request, cases=cases, payloads=payloads, events=events
        )
    }
    for row in rows.of(CaseFacts):
        facts_row = cast(CaseFacts, row)
        if facts_row.case_id in sealed:
            facts_row.sealed = sealed[facts_row.case_id]


def case_facts_record(*, ctx: KeyContext, case: Case, person: dict[str, Any] | None = None) -> None:
    """Re-seal a case's facts after it changed (a new row replaces the old one). The caller
    holds the case: the person's payload is read with its key unless given."""
    from haven.cases.models import Case as CaseModel
    from haven.cases.models import JourneyEvent

    key = _statistics_key()
    if key is None:
        return
    if person is None:
        person = payload_read(ctx=ctx, record=case.person)
    request = case.request
    carrier = (
        CaseModel.objects.filter(request=request)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
        if request is not None
        else None
    )
    events = JourneyEvent.objects.filter(case=case).order_by("occurred_at", "case_version")
    facts = case_facts(
        state=case.state,
        state_changed_at=case.state_changed_at,
        received_at=request.received_at if request is not None else case.opened_at,
        channel=request.channel if request is not None else "staff",
        carries_request=carrier == case.pk,
        person=person,
        events=events.values_list("to_state", "country", "occurred_at"),
        case_payload=payload_read(ctx=ctx, record=case),
    )
    CaseFacts.objects.filter(case=case).delete()
    CaseFacts.objects.create(
        case=case,
        team_key=key,
        sealed=_sealed(key, facts),
        cover=CoverCategories.objects.filter(case=case).first(),
    )


def case_facts_forget(*, case: Case) -> None:
    """A supervisor deleted the case: its facts leave the statistics too (a case destroyed by
    retention keeps them, detached, so that past years do not shrink)."""
    CaseFacts.objects.filter(case=case).delete()
    CoverCategories.objects.filter(case=case).delete()


def case_cover_categories_set(*, cases: Iterable[Case], categories: dict[str, str]) -> int:
    """Count ``cases`` under cover categories (``oc``, ``pr``) from now on: called by the
    disclosure service that records their cover values, in its transaction. Each case's facts
    row is replaced (a new id, the same sealed facts) so that statistics read it again. An empty
    ``categories`` goes back to the true ones. Returns how many cases were changed."""
    key = _statistics_key()
    if key is None:
        return 0
    wanted = {name: code for name, code in categories.items() if name in ("oc", "pr")}
    changed = 0
    for case in cases:
        CoverCategories.objects.filter(case=case).delete()
        cover = (
            CoverCategories.objects.create(
                case=case, team_key=key, sealed=facts_seal(bytes(key.public_key), wanted)
            )
            if wanted
            else None
        )
        row = CaseFacts.objects.filter(case=case).first()
        if row is not None:
            sealed, team_key_id = bytes(row.sealed), row.team_key_id
            row.delete()
            CaseFacts.objects.create(case=case, team_key_id=team_key_id, sealed=sealed, cover=cover)
        changed += 1
    return changed


@transaction.atomic
def case_facts_backfill(*, ctx: KeyContext, actor: User, limit: int = 500) -> tuple[int, int]:
    """Seal the facts of up to ``limit`` cases that have none (recorded before statistics
    existed), among those the actor holds. Returns (sealed now, still without facts)."""
    from haven.cases.models import Case as CaseModel
    from haven.vault.sealed import data_keys_unlock

    if not access.allowed(actor, "stats.internal"):
        raise PermissionDenied("Only supervisors count cases that are not counted yet.")
    if limit < 1 or limit > 10_000:
        raise ValidationError({"limit": "Between 1 and 10,000 at a time."})
    missing = CaseModel.objects.filter(stats_facts__isnull=True).select_related("person", "request")
    todo = list(missing.order_by("opened_at", "pk")[:limit])
    data_keys_unlock(ctx=ctx, key_ids=[case.data_key_id for case in todo])
    done = 0
    for case in todo:
        if ctx.has_data_key(str(case.data_key_id)):
            case_facts_record(ctx=ctx, case=case)
            done += 1
    left = missing.count()
    audit_record(actor=actor, action="stats.backfill", detail={"sealed": done, "left": left})
    return done, left


# --- The snapshot ---------------------------------------------------------------------------------


@transaction.atomic
def facts_snapshot_write(*, ctx: KeyContext, actor: User, matrix: FactsMatrix) -> FactsSnapshot:
    """Seal every case's decoded facts together (one box to open instead of one per case), and
    destroy older snapshots with their keys."""
    key = selectors.statistics_key_held(ctx)
    snapshot = FactsSnapshot(
        data_key=data_key_create(ctx=ctx, holders=[key], granted_by=actor),
        created_at=timezone.now(),
        rows=len(matrix),
    )
    ids = matrix.ids
    payload_set(
        ctx=ctx,
        record=snapshot,
        data={
            "vocabulary": VOCABULARY_ID,
            # What the rows up to its last id must still add up to for it to be current.
            "count": len(ids),
            "sum": int(ids.sum()) if len(ids) else 0,
            "max": int(ids.max()) if len(ids) else 0,
        },
    )
    snapshot.matrix = blob_seal(ctx=ctx, record=snapshot, part="matrix", data=matrix.to_bytes())
    snapshot.save(force_insert=True)
    for old in FactsSnapshot.objects.exclude(pk=snapshot.pk).filter(
        created_at__lte=snapshot.created_at
    ):
        key_id = old.data_key_id
        old.delete()
        data_key_shred(key_id=key_id)
    audit_record(actor=actor, action="stats.snapshot", detail={"rows": len(matrix)})
    return snapshot


# --- Releases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseRequest:
    """What a release asks for, cleaned (:func:`release_request_clean`)."""

    start: int
    end: int
    grain: str
    tables: tuple[TableSpec, ...]
    policy: Policy
    title: str = ""


def default_policy() -> Policy:
    k = settings.HAVEN_STATS_K
    return Policy(
        method=SUPPRESS,
        k=k,
        protection=settings.HAVEN_STATS_PROTECTION or k,
        zeros=settings.HAVEN_STATS_ZEROS_DISCLOSIVE,
        base=settings.HAVEN_STATS_ROUNDING_BASE,
    )


def _int(value: Any, field: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({field: f"“{value}” is not a whole number."}) from exc
    if not low <= number <= high:
        raise ValidationError({field: f"Must be between {low} and {high}."})
    return number


def policy_clean(
    *,
    method: Any = SUPPRESS,
    k: Any = None,
    protection: Any = None,
    zeros: Any = None,
    base: Any = None,
) -> Policy:
    """A disclosure policy from input; k below 2 (which would publish ones) is refused."""
    default = default_policy()
    if method not in (SUPPRESS, ROUND):
        raise ValidationError({"policy": f"Choose {SUPPRESS} or {ROUND}."})
    k_value = default.k if k in (None, "") else _int(k, "k", 2, 1000)
    return Policy(
        method=str(method),
        k=k_value,
        protection=(
            (settings.HAVEN_STATS_PROTECTION or k_value)
            if protection in (None, "")
            else _int(protection, "protection", 1, 1000)
        ),
        zeros=default.zeros if zeros is None else bool(zeros),
        base=default.base if base in (None, "") else _int(base, "rounding_base", 2, 100),
    )


def release_request_clean(
    *,
    start: Any,
    end: Any,
    grain: Any,
    tables: Iterable[Any],
    policy: Policy,
    title: Any = "",
    today: dt.date | None = None,
) -> ReleaseRequest:
    from haven.validation import clean_text

    first = parse_month(start, field_name="start")
    last = parse_month(end, field_name="end")
    check_range(first, last, today=today or timezone.localdate(), closed_only=True)
    specs = []
    for text in tables:
        spec = text if isinstance(text, TableSpec) else TableSpec.parse(str(text))
        spec.check()
        if spec not in specs:
            specs.append(spec)
    if not specs:
        raise ValidationError({"tables": "Choose at least one table."})
    if len(specs) > MAX_TABLES:
        raise ValidationError({"tables": f"At most {MAX_TABLES} tables in one release."})
    if grain not in ("year", "quarter", "month"):
        raise ValidationError({"grain": "Choose year, quarter or month."})
    return ReleaseRequest(
        start=first,
        end=last,
        grain=str(grain),
        tables=tuple(specs),
        policy=policy,
        title=clean_text(title, field="title", max_length=200, multiline=False),
    )


@transaction.atomic
def release_prepare(*, ctx: KeyContext, actor: User, ask: ReleaseRequest) -> Release:
    """Compute, protect and audit a release against every earlier published one, and keep it
    frozen and sealed until a supervisor approves it. Refused (ValidationError) when no pattern
    of kept-back figures passes the attacker's audit."""
    if not access.allowed(actor, "stats.prepare"):
        raise PermissionDenied("Your role cannot prepare statistics.")
    key = selectors.statistics_key_held(ctx)
    computed = selectors.computed_tables(
        ctx=ctx,
        actor=actor,
        start=ask.start,
        end=ask.end,
        grain=ask.grain,
        specs=list(ask.tables),
        policy=ask.policy,
    )
    try:
        outcome = protect(
            computed.tables, policy=ask.policy, earlier=computed.earlier, cubes=computed.cubes
        )
    except ProtectionError as exc:
        raise ValidationError({"tables": str(exc)}) from exc
    loss = outcome.loss()
    release = Release(
        data_key=data_key_create(ctx=ctx, holders=[key], granted_by=actor),
        start=month_text(ask.start),
        end=month_text(ask.end),
        grain=ask.grain,
        tables=[spec.key for spec in ask.tables],
        policy=ask.policy.method,
        k=ask.policy.k,
        protection=ask.policy.protection,
        zeros_disclosive=ask.policy.zeros,
        rounding_base=ask.policy.base,
        figures=loss["figures"],
        suppressed=loss["suppressed"],
        prepared_by=actor,
        prepared_at=timezone.now(),
    )
    payload_set(
        ctx=ctx,
        record=release,
        data=selectors.release_payload(
            title=ask.title, computed=computed, outcome=outcome, earlier_ids=computed.earlier_ids
        ),
    )
    release.save(force_insert=True)
    audit_record(
        actor=actor,
        action="stats.release_prepare",
        target=release,
        detail={
            "tables": len(ask.tables),
            "figures": loss["figures"],
            "suppressed": loss["suppressed"],
        },
    )
    return release


@transaction.atomic
def release_approve(
    *, ctx: KeyContext, actor: User, release: Release, expected_version: int
) -> Release:
    """Publish a prepared release: a supervisor other than whoever prepared it, after the
    attacker's audit passes again against every release published meanwhile."""
    if not access.allowed(actor, "stats.approve"):
        raise PermissionDenied("Only supervisors approve a release.")
    release = Release.objects.select_for_update().get(pk=release.pk)
    if release.version != expected_version:
        raise ConflictError(current_version=release.version)
    if release.status != ReleaseStatus.PREPARED:
        raise ValidationError({"status": "Only a prepared release can be approved."})
    if release.prepared_by_id == actor.pk:
        raise PermissionDenied("Someone other than whoever prepared a release approves it.")
    selectors.statistics_key_held(ctx)
    data = payload_read(ctx=ctx, record=release)
    since = selectors.published_overlapping(
        start=parse_month(release.start, field_name="start"),
        end=parse_month(release.end, field_name="end"),
    )
    if any(str(other.pk) not in data.get("earlier", []) for other in since):
        raise ValidationError(
            {
                "status": "Another release of these months was published after this one was "
                "prepared: prepare it again, so that it is checked against that one."
            }
        )
    report = selectors.release_audit(ctx=ctx, release=release, data=data)
    if not report.passed:
        raise ValidationError(
            {"status": "The attacker's audit no longer passes: prepare the release again."}
        )
    record_update(
        ctx=ctx,
        record=release,
        expected_version=expected_version,
        fields={
            "status": ReleaseStatus.PUBLISHED,
            "approved_by": actor,
            "published_at": timezone.now(),
        },
    )
    audit_record(
        actor=actor,
        action="stats.release_publish",
        target=release,
        detail={"figures": release.figures, "suppressed": release.suppressed},
    )
    return release


@transaction.atomic
def release_discard(
    *, ctx: KeyContext, actor: User, release: Release, expected_version: int
) -> Release:
    """Set aside a prepared release that will not be published (a published one stays)."""
    if not access.allowed(actor, "stats.prepare"):
        raise PermissionDenied("Your role cannot prepare statistics.")
    release = Release.objects.select_for_update().get(pk=release.pk)
    if release.status != ReleaseStatus.PREPARED:
        raise ValidationError({"status": "Only a prepared release can be discarded."})
    record_update(
        ctx=ctx,
        record=release,
        expected_version=expected_version,
        fields={"status": ReleaseStatus.DISCARDED},
    )
    audit_record(actor=actor, action="stats.release_discard", target=release)
    return release
