"""State changes of the disclosure app: cover values and openings (supervisors), statements from
draft to release and withdrawal (press officers draft, a supervisor who did not write it approves).

Every outward step asks the gate (:mod:`haven.disclosure.gate`) and the leak check
(:mod:`haven.disclosure.leakcheck`); a refused step changes nothing but writes its refusal to the
audit trail. Covers, fingerprints and statements are sealed under data keys of their own, sealed to
the press office's key (and the recovery key): a press officer opens them without any case key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from haven import access
from haven.accounts.models import Role, User
from haven.audit.services import audit_record
from haven.cases.journey import State
from haven.cases.models import Case, Group, JourneyEvent
from haven.crypto import KeyContext, MissingKeyError
from haven.disclosure import facts, leakcheck
from haven.disclosure.gate import SIDE_EXITS, GateResult, gate
from haven.disclosure.models import Cover, LeakPrint, Opening, Statement, StatementStatus
from haven.disclosure.rendering import (
    Rendered,
    check_references,
    handles_valid,
    refuse_markup,
    render,
)
from haven.errors import ConflictError
from haven.stats.services import case_cover_categories_set
from haven.validation import clean_text
from haven.vault.models import TeamKey
from haven.vault.sealed import data_key_create, payload_read, payload_set, record_update
from haven.vault.services import data_key_shred, press_key_ensure

MAX_TITLE_CHARS = 200
MAX_TEXT_CHARS = 40_000
MAX_SUBJECTS = 26
MAX_CLEARED = 50


class StatementBlockedError(ValidationError):
    """An approval or a release the gate or the leak check refused; nothing was changed.

    ``closed``: subjects the gate keeps closed; ``missing``: references with no value;
    ``hits``: what the leak check found (for the approver; the press office is told only that
    it was blocked); ``changed``: the text differs from the one approved."""

    def __init__(
        self,
        *,
        closed: list[str] | None = None,
        missing: list[str] | None = None,
        hits: list[leakcheck.Hit] | None = None,
        changed: bool = False,
    ) -> None:
        self.closed = closed or []
        self.missing = missing or []
        self.hits = hits or []
        self.changed = changed
        reasons = []
        if self.closed:
            reasons.append(
                "someone it speaks about is not safe to speak about yet (subject "
                + ", ".join(self.closed)
                + ")"
            )
        if self.missing:
            reasons.append("some references have no cover value (" + ", ".join(self.missing) + ")")
        if self.changed:
            reasons.append("its text changed since it was approved: it must be approved again")
        if self.hits:
            reasons.append(
                f"the leak check found {len(self.hits)} true value(s) or name(s) of people not "
                "yet safe in it (a supervisor sees which)"
            )
        super().__init__({"statement": "Blocked: " + "; ".join(reasons) + "."})

    @property
    def reason(self) -> str:
        if self.closed:
            return "gate"
        if self.missing:
            return "missing"
        if self.changed:
            return "changed"
        return "leak"


# --- Helpers ------------------------------------------------------------------------------------


def _require(user: User, action: str, message: str) -> None:
    if not access.allowed(user, action):
        raise PermissionDenied(message)


def _press_key(actor: User, ctx: KeyContext | None = None) -> TeamKey:
    key = press_key_ensure(actor=actor, ctx=ctx)
    if key is None:
        raise ValidationError("The organisation's keys are not set up: run `haven setup`.")
    return key


def _holds_press_key(ctx: KeyContext, key: TeamKey) -> bool:
    return key.ref in ctx.holder_refs()


def _clean_line(value: Any, *, field_name: str, max_length: int, required: bool = False) -> str:
    text = clean_text(
        value, field=field_name, max_length=max_length, required=required, multiline=False
    )
    refuse_markup(text, field_name=field_name)
    return text


def _check_version(record: Any, expected_version: int) -> None:
    if record.version != expected_version:
        raise ConflictError(current_version=record.version)


# --- Cover values ---------------------------------------------------------------------------------


@dataclass
class CoverInput:
    """One field of a cover record as a supervisor sets it: the mode, the cover value per
    language (``cover`` mode), the reason (the modes that publish the truth)."""

    mode: str = ""
    values: dict[str, str] = field(default_factory=dict)
    reason: str = ""


def _scope_cases(*, case: Case | None, group: Group | None) -> list[Case]:
    """The people a cover speaks about: the case and everyone in its group, or the group."""
    if group is None and case is not None and case.group_id is not None:
        group = case.group
    if group is not None:
        members = list(Case.objects.filter(group=group).select_related("person", "group"))
        if case is not None and case not in members:
            members.append(case)
        return members
    return [case] if case is not None else []


def _require_all_held(actor: User, cases: list[Case]) -> None:
    if not all(access.can_view_case(actor, case) for case in cases):
        raise ValidationError(
            {
                "cover": "You do not hold every case of this group. The cover values and the "
                "leak check need them all: ask a supervisor who holds them."
            }
        )


def _common(values: list[Any], *, field_name: str, what: str) -> Any:
    found = {v for v in values if v not in (None, "", "unknown")}
    if len(found) != 1 or any(v in (None, "", "unknown") for v in values):
        raise ValidationError(
            {
                f"fields.{field_name}": f"The true {what} is not recorded, or not the same for "
                "everyone in the group: give a cover value instead."
            }
        )
    return found.pop()


def _event_date(ctx: KeyContext, case: Case, state: str) -> dt.date | None:
    event = JourneyEvent.objects.filter(case=case, to_state=state).order_by("-occurred_at").first()
    return timezone.localtime(event.occurred_at).date() if event is not None else None


def _event_region(ctx: KeyContext, case: Case, state: str) -> str:
    event = JourneyEvent.objects.filter(case=case, to_state=state).order_by("-occurred_at").first()
    if event is None:
        return ""
    return str(payload_read(ctx=ctx, record=event).get("region") or "")


def _route(case: Case) -> list[str]:
    codes: list[str] = []
    for code in (
        JourneyEvent.objects.filter(case=case)
        .order_by("occurred_at")
        .values_list("country", flat=True)
    ):
        if code and code not in codes:
            codes.append(code)
    return codes


def _true_value(
    *, ctx: KeyContext, name: str, mode: str, case: Case | None, members: list[Case]
) -> tuple[dict[str, str], str]:
    """The values per language of a field published from the truth (and the true date, for the
    leak check to leave alone when published to the day)."""
    if name == "count":
        return facts.count_text(len(members), mode), ""
    if name == "name":
        if case is None:
            raise ValidationError(
                {"fields.name": "A group has no true public name: give it a cover value."}
            )
        person = payload_read(ctx=ctx, record=case.person)
        values = {"en": person.get("name_romanized", ""), "ko": person.get("name_hangul", "")}
        if not any(values.values()):
            raise ValidationError({"fields.name": "No true name is recorded for this person."})
        return values, ""
    if name == "origin":
        origins = [payload_read(ctx=ctx, record=c.person).get("origin_region", "") for c in members]
        origin = _common(origins, field_name=name, what="origin")
        return dict.fromkeys(facts.LANGUAGES, origin), ""
    if name == "occupation":
        jobs = [payload_read(ctx=ctx, record=c.person).get("occupation", "") for c in members]
        job = _common(jobs, field_name=name, what="occupation")
        if job not in facts.OCCUPATION_TEXT:
            raise ValidationError({"fields.occupation": "The true occupation is not recorded."})
        return dict(facts.OCCUPATION_TEXT[job]), ""
    if name == "now":
        country = _common([c.country for c in members], field_name=name, what="country")
        return facts.country_text(country), ""
    if name == "route":
        routes = [tuple(_route(c)) for c in members]
        route = _common(routes, field_name=name, what="route")
        return facts.countries_text(list(route)), ""
    if name == "departure":
        regions = [_event_region(ctx, c, State.LEFT_WORKPLACE) for c in members]
        region = _common(regions, field_name=name, what="departure city")
        return dict.fromkeys(facts.LANGUAGES, region), ""
    if name in ("arrived", "left"):
        state = State.ARRIVED if name == "arrived" else State.LEFT_WORKPLACE
        days = [_event_date(ctx, c, state) for c in members]
        day = _common(days, field_name=name, what="date")
        precision = facts.TRUE if mode == facts.TRUE else mode
        return facts.date_text(day, precision), day.isoformat() if mode == facts.TRUE else ""
    raise ValidationError({f"fields.{name}": "This field cannot be published from the truth."})


def _clean_fields(
    *,
    ctx: KeyContext,
    actor: User,
    fields: Mapping[str, CoverInput],
    case: Case | None,
    members: list[Case],
    previous: Mapping[str, Any],
) -> dict[str, Any]:
    if not isinstance(fields, Mapping):
        raise ValidationError({"fields": "Must map each field to its cover value."})
    unknown = sorted(set(fields) - set(facts.FIELDS))
    if unknown:
        raise ValidationError({"fields": f"Unknown fields: {', '.join(unknown)}."})
    now = timezone.now().isoformat()
    cleaned: dict[str, Any] = {}
    for name, spec in facts.FIELDS.items():
        given = fields.get(name)
        if given is None or not given.mode:
            continue
        if given.mode not in spec.modes:
            raise ValidationError(
                {f"fields.{name}": f"“{given.mode}” is not a way to fill this field."}
            )
        reason = clean_text(
            given.reason, field=f"fields.{name}.reason", max_length=facts.MAX_REASON_CHARS
        )
        entry: dict[str, Any] = {"mode": given.mode, "by": actor.pk, "at": now}
        if given.mode == facts.COVER:
            values = {}
            for language in facts.LANGUAGES:
                value = _clean_line(
                    (given.values or {}).get(language, ""),
                    field_name=f"fields.{name}.{language}",
                    max_length=facts.MAX_VALUE_CHARS,
                )
                if value:
                    values[language] = value
            if not values:
                raise ValidationError(
                    {f"fields.{name}": "Give the cover value in at least one language."}
                )
            entry["values"] = values
            if reason:
                entry["reason"] = reason
        else:
            if not reason:
                raise ValidationError(
                    {
                        f"fields.{name}.reason": "Say why the true value may be published "
                        "(it is in the audit trail's record of this decision)."
                    }
                )
            values, day = _true_value(
                ctx=ctx, name=name, mode=given.mode, case=case, members=members
            )
            entry["values"] = {k: v for k, v in values.items() if v}
            entry["reason"] = reason
            if day:
                entry["date"] = day
        old = previous.get(name)
        if old and {k: old.get(k) for k in ("mode", "values", "reason")} == {
            k: entry.get(k) for k in ("mode", "values", "reason")
        }:
            entry["by"], entry["at"] = old.get("by"), old.get("at")  # unchanged: keep who and when
        cleaned[name] = entry
    return cleaned


def _cover_checked(
    *, ctx: KeyContext, members: list[Case], label: str, fields: dict[str, Any]
) -> leakcheck.Targets:
    """The label and the cover values must not be true values of anyone in scope (Shanghai as
    the cover for Shanxi is fine; Shanxi as the cover of anything is not)."""
    truths = leakcheck.truths_read(ctx=ctx, case_ids=[str(c.pk) for c in members])
    published = leakcheck.published_forms([{"fields": fields}])
    targets = leakcheck.targets_build(truths, published=published)
    texts = {"label": label}
    for name, entry in fields.items():
        if entry["mode"] == facts.COVER:
            for language, value in entry["values"].items():
                texts[f"{name}.{language}"] = value
    hits = leakcheck.truth_hits(texts, targets)
    if hits:
        where = sorted({h.language for h in hits})
        raise ValidationError(
            {
                "fields" if where != ["label"] else "label": "These values are true values of "
                "someone this record speaks about: "
                + "; ".join(f"{h.language}: {h.label}" for h in hits)
                + ". Choose other cover values."
            }
        )
    return targets


def _statistics_categories(fields: Mapping[str, Any]) -> dict[str, str]:
    """What a cover record changes in the statistics: the origin and occupation a cover value
    names, read as statistics read a person's (haven.stats.categories). A cover origin that is
    no North Korean province (Shanghai for Shanxi) counts as "province not known"."""
    from haven.stats import categories as cat

    out: dict[str, str] = {}
    for name, code in (("origin", "pr"), ("occupation", "oc")):
        entry = fields.get(name)
        if not entry or entry.get("mode") != facts.COVER:
            continue
        values = entry.get("values") or {}
        text = str(values.get("en") or next(iter(values.values()), ""))
        if code == "pr":
            out[code] = cat.province_code(cat.province_of(text))
        else:
            out[code] = cat.occupation_category(text)
    return out


@transaction.atomic
def cover_set(
    *,
    ctx: KeyContext,
    actor: User,
    label: str,
    fields: Mapping[str, CoverInput],
    case: Case | None = None,
    group: Group | None = None,
    expected_version: int | None = None,
) -> Cover:
    """Record (or replace) the cover values of one case or one group. Supervisors only, holding
    every case it speaks about. A field left out is never rendered; ``true``, ``month``, ``year``
    and ``rounded`` publish (part of) the true value, with a reason. The label and every cover
    value are checked against the true values; the fingerprints of everyone in scope are
    refreshed for the press office's checks."""
    _require(actor, "cover.write", "Only supervisors record cover values.")
    if (case is None) == (group is None):
        raise ValidationError("A cover record is for exactly one case or one group.")
    members = _scope_cases(case=case, group=group)
    if case is not None and not access.can_view_case(actor, case):
        raise PermissionDenied("You do not have access to this case.")
    if not members:
        raise ValidationError({"group": "This group has nobody in it."})
    _require_all_held(actor, members)
    label = _clean_line(label, field_name="label", max_length=facts.MAX_LABEL_CHARS, required=True)
    press_key = _press_key(actor, ctx)
    owner: dict[str, Any] = {"case": case} if case is not None else {"group": group}
    existing = Cover.objects.select_for_update().filter(**owner).first()
    previous: dict[str, Any] = {}
    if existing is not None:
        if expected_version is None:
            raise ConflictError(
                "This record has cover values already: send the version you read.",
                current_version=existing.version,
            )
        _check_version(existing, expected_version)
        previous = payload_read(ctx=ctx, record=existing).get("fields") or {}
    cleaned = _clean_fields(
        ctx=ctx, actor=actor, fields=fields, case=case, members=members, previous=previous
    )
    targets = _cover_checked(ctx=ctx, members=members, label=label, fields=cleaned)
    data = {"label": label, "fields": cleaned}
    now = timezone.now()
    if existing is None:
        cover = Cover(
            case=case,
            group=group,
            data_key=data_key_create(ctx=ctx, holders=[press_key], granted_by=actor),
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        payload_set(ctx=ctx, record=cover, data=data)
        cover.save(force_insert=True)
    else:
        cover = record_update(
            ctx=ctx,
            record=existing,
            expected_version=expected_version or existing.version,
            data=data,
            fields={"updated_at": now},
        )
    _prints_write(ctx=ctx, actor=actor, targets=targets, case_ids=[str(c.pk) for c in members])
    # Statistics count the covered people under the cover's categories, never the true ones.
    case_cover_categories_set(cases=members, categories=_statistics_categories(cleaned))
    audit_record(
        actor=actor,
        action="cover.set",
        target=cover,
        detail={
            "case": str(case.pk) if case is not None else None,
            "group": str(group.pk) if group is not None else None,
            "fields": sorted(cleaned),
            "published": sorted(n for n, e in cleaned.items() if e["mode"] in facts.FROM_TRUTH),
        },
    )
    return cover


@transaction.atomic
def cover_remove(*, ctx: KeyContext, actor: User, cover: Cover, expected_version: int) -> None:
    """Take a cover record away from the press office: its values are destroyed (every copy of
    its key). Statements that refer to it can no longer be rendered."""
    _require(actor, "cover.write", "Only supervisors remove cover values.")
    cover = Cover.objects.select_for_update().get(pk=cover.pk)
    _check_version(cover, expected_version)
    if cover.case is not None and not access.can_view_case(actor, cover.case):
        raise PermissionDenied("You do not have access to this case.")
    payload_read(ctx=ctx, record=cover)  # proves the actor holds it, and that it is genuine
    key_id = cover.data_key_id
    cover_id = cover.pk
    cover.delete()
    data_key_shred(key_id=key_id)
    audit_record(actor=actor, action="cover.remove", detail={"cover": str(cover_id)})


def _prints_write(
    *, ctx: KeyContext, actor: User, targets: leakcheck.Targets, case_ids: list[str]
) -> None:
    """Store each person's fingerprints (a LeakPrint sealed to the press office's key)."""
    press_key = _press_key(actor, ctx)
    now = timezone.now()
    existing = {
        str(p.case_id): p
        for p in LeakPrint.objects.select_for_update().filter(case_id__in=case_ids)
    }
    for case_id in case_ids:
        data = leakcheck.fingerprints_of(targets, case_id=case_id)
        record = existing.get(case_id)
        if record is None:
            record = LeakPrint(
                case_id=case_id,
                data_key=data_key_create(ctx=ctx, holders=[press_key], granted_by=actor),
                updated_at=now,
            )
            payload_set(ctx=ctx, record=record, data=data)
            record.save(force_insert=True)
        else:
            record_update(
                ctx=ctx,
                record=record,
                expected_version=record.version,
                data=data,
                fields={"updated_at": now},
            )


def leak_prints_refresh(*, ctx: KeyContext, actor: User, case_ids: list[str]) -> int:
    """Recompute the fingerprints of these people from their true values (in the caller's
    transaction). Needs every case's key. Returns how many were written."""
    truths = leakcheck.truths_read(ctx=ctx, case_ids=case_ids)
    targets = leakcheck.targets_build(truths, published=set())
    _prints_write(ctx=ctx, actor=actor, targets=targets, case_ids=case_ids)
    return len(case_ids)


# --- Openings --------------------------------------------------------------------------------------


@transaction.atomic
def opening_set(*, ctx: KeyContext, actor: User, case: Case, reason: str) -> Opening:
    """Let statements speak about one person in a side exit (detained, repatriated, deceased,
    lost contact), with a written reason. It holds while the case stays in that state."""
    _require(actor, "disclosure.open", "Only supervisors open a person for statements.")
    if not access.can_view_case(actor, case):
        raise PermissionDenied("You do not have access to this case.")
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.state not in SIDE_EXITS:
        raise ValidationError(
            {
                "case": "Only a person in a side exit (detained, repatriated, deceased, lost "
                "contact) can be opened; people who arrived are open already, others never."
            }
        )
    reason = clean_text(reason, field="reason", max_length=facts.MAX_REASON_CHARS, required=True)
    now = timezone.now()
    existing = Opening.objects.select_for_update().filter(case=case).first()
    if existing is not None:
        existing.delete()
    opening = Opening(
        case=case, data_key=case.data_key, state=case.state, opened_by=actor, opened_at=now
    )
    payload_set(ctx=ctx, record=opening, data={"reason": reason})
    opening.save(force_insert=True)
    audit_record(actor=actor, action="disclosure.open", target=case, detail={"state": case.state})
    return opening


@transaction.atomic
def opening_close(*, ctx: KeyContext, actor: User, case: Case) -> None:
    """Close an opened person again: statements about them are withheld from now on."""
    _require(actor, "disclosure.open", "Only supervisors close an opening.")
    if not access.can_view_case(actor, case):
        raise PermissionDenied("You do not have access to this case.")
    deleted, _ = Opening.objects.filter(case=case).delete()
    if not deleted:
        raise ValidationError({"case": "This person is not opened."})
    audit_record(actor=actor, action="disclosure.close", target=case, detail={})


# --- Statements ----------------------------------------------------------------------------------------


def _clean_statement(
    *, title: Any, texts: Any, subjects: Any
) -> tuple[str, dict[str, str], dict[str, str]]:
    title = _clean_line(title, field_name="title", max_length=MAX_TITLE_CHARS, required=True)
    if not isinstance(texts, Mapping):
        raise ValidationError({"texts": "Give the text per language (en, ko, zh)."})
    unknown = sorted(set(texts) - set(facts.LANGUAGES))
    if unknown:
        raise ValidationError({"texts": f"Unknown languages: {', '.join(map(str, unknown))}."})
    cleaned: dict[str, str] = {}
    for language in facts.LANGUAGES:
        text = clean_text(
            texts.get(language, ""), field=f"texts.{language}", max_length=MAX_TEXT_CHARS
        )
        refuse_markup(text, field_name=f"texts.{language}")
        if text:
            cleaned[language] = text
    if not cleaned:
        raise ValidationError({"texts": "Write the statement in at least one language."})
    if not isinstance(subjects, Mapping):
        raise ValidationError({"subjects": "Map each subject letter to a cover record."})
    if len(subjects) > MAX_SUBJECTS:
        raise ValidationError({"subjects": f"At most {MAX_SUBJECTS} subjects."})
    handles_valid([str(h) for h in subjects])
    chosen: dict[str, str] = {}
    for handle, cover_id in subjects.items():
        cover = Cover.objects.filter(pk=_uuid_or_none(cover_id)).first()
        if cover is None:
            raise ValidationError(
                {
                    "subjects": f"Subject {handle}: unknown cover record. Choose one of the cover "
                    "records supervisors made available."
                }
            )
        chosen[str(handle)] = str(cover.pk)
    if len(set(chosen.values())) != len(chosen):
        raise ValidationError({"subjects": "Each cover record may be one subject only."})
    check_references({**cleaned, "title": title}, set(chosen))
    return title, cleaned, chosen


def _uuid_or_none(value: Any) -> Any:
    import uuid

    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _require_writer(actor: User) -> None:
    _require(actor, "statement.write", "Only press officers write statements.")


@transaction.atomic
def statement_create(
    *,
    ctx: KeyContext,
    actor: User,
    title: str,
    texts: Mapping[str, str],
    subjects: Mapping[str, Any],
) -> Statement:
    """Draft a statement: a title, its text in one or more languages with references such as
    ``[[A.origin]]``, and its subjects (a letter for each cover record it speaks about)."""
    _require_writer(actor)
    title, cleaned, chosen = _clean_statement(title=title, texts=texts, subjects=subjects)
    press_key = _press_key(actor)
    if not _holds_press_key(ctx, press_key):
        raise PermissionDenied(
            "You do not hold the press office's key yet: a supervisor shares it on the Keys page."
        )
    now = timezone.now()
    statement = Statement(
        data_key=data_key_create(ctx=ctx, holders=[press_key], granted_by=actor),
        author=actor,
        created_at=now,
        updated_at=now,
    )
    payload_set(
        ctx=ctx,
        record=statement,
        data={"title": title, "texts": cleaned, "subjects": chosen},
    )
    statement.save(force_insert=True)
    audit_record(
        actor=actor,
        action="statement.create",
        target=statement,
        detail={"languages": sorted(cleaned), "subjects": sorted(chosen.values())},
    )
    return statement


def _locked(statement: Statement, expected_version: int) -> Statement:
    locked = Statement.objects.select_for_update().get(pk=statement.pk)
    _check_version(locked, expected_version)
    return locked


def _step_refused(message: str) -> ValidationError:
    return ValidationError({"status": message})


@transaction.atomic
def statement_update(
    *,
    ctx: KeyContext,
    actor: User,
    statement: Statement,
    expected_version: int,
    title: str,
    texts: Mapping[str, str],
    subjects: Mapping[str, Any],
) -> Statement:
    """Change a draft (or a statement waiting for approval, or approved: it goes back to draft,
    and any approval is void)."""
    _require_writer(actor)
    statement = _locked(statement, expected_version)
    if statement.status not in (
        StatementStatus.DRAFT,
        StatementStatus.SUBMITTED,
        StatementStatus.APPROVED,
    ):
        raise _step_refused("A released or withdrawn statement cannot be changed.")
    title, cleaned, chosen = _clean_statement(title=title, texts=texts, subjects=subjects)
    data = payload_read(ctx=ctx, record=statement)
    data.update({"title": title, "texts": cleaned, "subjects": chosen})
    data.pop("approval", None)
    record_update(
        ctx=ctx,
        record=statement,
        expected_version=expected_version,
        data=data,
        fields={
            "status": StatementStatus.DRAFT,
            "updated_at": timezone.now(),
            "approved_by": None,
            "approved_at": None,
        },
    )
    audit_record(
        actor=actor,
        action="statement.update",
        target=statement,
        detail={"languages": sorted(cleaned), "subjects": sorted(chosen.values())},
    )
    return statement


@transaction.atomic
def statement_submit(
    *, ctx: KeyContext, actor: User, statement: Statement, expected_version: int
) -> Statement:
    """Ask for approval."""
    _require_writer(actor)
    statement = _locked(statement, expected_version)
    if statement.status != StatementStatus.DRAFT:
        raise _step_refused("Only a draft can be submitted for approval.")
    data = payload_read(ctx=ctx, record=statement)
    data.pop("review", None)
    record_update(
        ctx=ctx,
        record=statement,
        expected_version=expected_version,
        data=data,
        fields={"status": StatementStatus.SUBMITTED, "updated_at": timezone.now()},
    )
    audit_record(actor=actor, action="statement.submit", target=statement, detail={})
    return statement


@transaction.atomic
def statement_return(
    *, ctx: KeyContext, actor: User, statement: Statement, expected_version: int, note: str
) -> Statement:
    """A supervisor sends a statement back to its author with a note."""
    _require(actor, "statement.approve", "Only supervisors send statements back.")
    statement = _locked(statement, expected_version)
    if statement.status not in (StatementStatus.SUBMITTED, StatementStatus.APPROVED):
        raise _step_refused("Only a statement waiting for approval (or approved) goes back.")
    note = clean_text(note, field="note", max_length=facts.MAX_REASON_CHARS, required=True)
    data = payload_read(ctx=ctx, record=statement)
    data["review"] = {"note": note, "by": actor.pk, "at": timezone.now().isoformat()}
    data.pop("approval", None)
    record_update(
        ctx=ctx,
        record=statement,
        expected_version=expected_version,
        data=data,
        fields={
            "status": StatementStatus.DRAFT,
            "updated_at": timezone.now(),
            "approved_by": None,
            "approved_at": None,
        },
    )
    audit_record(actor=actor, action="statement.return", target=statement, detail={})
    return statement


# --- The outward steps: everything they check ------------------------------------------------------


@dataclass
class Subjects:
    """A statement's subjects as they stand: the cover records (handle -> cover), their payloads,
    the gate's answer, and handles whose cover record is gone."""

    covers: dict[str, Cover]
    payloads: dict[str, dict[str, Any]]
    gate: GateResult
    missing: list[str]

    def closed(self) -> list[str]:
        closed = list(self.missing)
        for handle, cover in self.covers.items():
            if not self.gate.is_open(cover.pk):
                closed.append(handle)
        return sorted(closed)

    def open_payloads(self) -> dict[str, dict[str, Any] | None]:
        """What rendering may use: a closed subject's values are never handed out."""
        return {
            handle: (self.payloads[handle] if self.gate.is_open(cover.pk) else None)
            for handle, cover in self.covers.items()
        } | dict.fromkeys(self.missing)


def subjects_resolve(*, ctx: KeyContext, data: Mapping[str, Any]) -> Subjects:
    """Open a statement's cover records and ask the gate about them (one predicate for all)."""
    chosen: dict[str, str] = dict(data.get("subjects") or {})
    found = {str(c.pk): c for c in Cover.objects.filter(pk__in=list(chosen.values()))}
    covers = {h: found[c] for h, c in chosen.items() if c in found}
    missing = sorted(h for h, c in chosen.items() if c not in found)
    result = gate(covers.values(), missing=missing)
    payloads = {h: payload_read(ctx=ctx, record=c) for h, c in covers.items()}
    return Subjects(covers=covers, payloads=payloads, gate=result, missing=missing)


def statement_rendered(data: Mapping[str, Any], subjects: Subjects) -> Rendered:
    return render(
        title=str(data.get("title", "")),
        texts=data.get("texts") or {},
        subjects=subjects.open_payloads(),
    )


def _published(subjects: Subjects) -> set[tuple[str, str]]:
    return leakcheck.published_forms(subjects.payloads.values())


def _full_check(
    *,
    ctx: KeyContext,
    actor: User,
    rendered: Rendered,
    subjects: Subjects,
    cleared: list[str],
) -> list[leakcheck.Hit]:
    """A supervisor's check: the true values of everyone in scope, and the blind index."""
    scope = sorted(subjects.gate.cases())
    try:
        truths = leakcheck.truths_read(ctx=ctx, case_ids=scope)
    except MissingKeyError as exc:
        raise ValidationError(
            {
                "statement": "You do not hold every case this statement speaks about, so the "
                "leak check cannot read their true values: a supervisor who holds them must do it."
            }
        ) from exc
    targets = leakcheck.targets_build(truths, published=_published(subjects))
    hits = leakcheck.truth_hits(rendered.texts, targets)
    if ctx.holds_index_key():
        hits += leakcheck.index_hits(ctx=ctx, texts=rendered.texts, in_scope=scope, cleared=cleared)
    _prints_write(ctx=ctx, actor=actor, targets=targets, case_ids=scope)
    return hits


def _press_check(*, ctx: KeyContext, rendered: Rendered, subjects: Subjects) -> list[leakcheck.Hit]:
    """The check from fingerprints, where nobody holds the cases."""
    scope = sorted(subjects.gate.cases())
    prints = {
        str(p.case_id): payload_read(ctx=ctx, record=p)
        for p in LeakPrint.objects.filter(case_id__in=scope)
    }
    return leakcheck.fingerprint_hits(rendered.texts, prints, published=_published(subjects))


def _refusal(actor: User, statement: Statement, step: str, blocked: StatementBlockedError) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=f"statement.{step}_refused",
            target=statement,
            detail={
                "reason": blocked.reason,
                "closed": len(blocked.closed),
                "missing": len(blocked.missing),
                "hits": len(blocked.hits),
                "fields": sorted({h.field for h in blocked.hits}),
            },
        )


def _clean_cleared(cleared: Any, reason: Any) -> tuple[list[str], str]:
    if cleared in (None, "", []):
        return [], ""
    if not isinstance(cleared, list | tuple) or len(cleared) > MAX_CLEARED:
        raise ValidationError({"cleared": f"A list of at most {MAX_CLEARED} phrases."})
    phrases = [
        clean_text(p, field="cleared", max_length=200, required=True, multiline=False)
        for p in cleared
    ]
    reason = clean_text(reason, field="cleared_reason", max_length=facts.MAX_REASON_CHARS)
    if not reason:
        raise ValidationError(
            {"cleared_reason": "Say why these words are not about the person they matched."}
        )
    return phrases, reason


def statement_approve(
    *,
    ctx: KeyContext,
    actor: User,
    statement: Statement,
    expected_version: int,
    cleared: list[str] | None = None,
    cleared_reason: str = "",
) -> Statement:
    """Approve a statement waiting for approval: a supervisor who did not write it, holding every
    case it speaks about. Refused (:class:`StatementBlockedError`, audited, nothing changed) when
    the gate keeps a subject closed, a reference has no value, or the leak check finds a true
    value or the name of anyone not yet safe. ``cleared``: words the blind index matched that
    the approver says are about someone else (a public figure, a common name), with the reason;
    never true values of the people the statement speaks about."""
    _require(actor, "statement.approve", "Only supervisors approve statements.")
    phrases, reason = _clean_cleared(cleared, cleared_reason)
    try:
        with transaction.atomic():
            return _approve(
                ctx=ctx,
                actor=actor,
                statement=statement,
                expected_version=expected_version,
                cleared=phrases,
                cleared_reason=reason,
            )
    except StatementBlockedError as blocked:
        _refusal(actor, statement, "approve", blocked)
        raise


def _approve(
    *,
    ctx: KeyContext,
    actor: User,
    statement: Statement,
    expected_version: int,
    cleared: list[str],
    cleared_reason: str,
) -> Statement:
    statement = _locked(statement, expected_version)
    if statement.author_id == actor.pk:
        raise PermissionDenied("A statement is approved by someone who did not write it.")
    if statement.status not in (StatementStatus.SUBMITTED, StatementStatus.APPROVED):
        raise _step_refused("Only a statement submitted for approval can be approved.")
    data = payload_read(ctx=ctx, record=statement)
    subjects = subjects_resolve(ctx=ctx, data=data)
    rendered = statement_rendered(data, subjects)
    if subjects.closed() or rendered.missing:
        raise StatementBlockedError(closed=subjects.closed(), missing=rendered.missing)
    hits = _full_check(ctx=ctx, actor=actor, rendered=rendered, subjects=subjects, cleared=cleared)
    if hits:
        raise StatementBlockedError(hits=hits)
    now = timezone.now()
    data["approval"] = {
        "digest": rendered.digest(),
        "at": now.isoformat(),
        "by": actor.pk,
        "cleared": cleared,
        "cleared_reason": cleared_reason,
    }
    record_update(
        ctx=ctx,
        record=statement,
        expected_version=expected_version,
        data=data,
        fields={
            "status": StatementStatus.APPROVED,
            "approved_by": actor,
            "approved_at": now,
            "updated_at": now,
        },
    )
    audit_record(
        actor=actor,
        action="statement.approve",
        target=statement,
        detail={
            "subjects": len(subjects.covers),
            "people": len(subjects.gate.cases()),
            "cleared": len(cleared),
        },
    )
    return statement


def statement_release(
    *, ctx: KeyContext, actor: User, statement: Statement, expected_version: int
) -> Statement:
    """Release an approved statement: its rendered text is frozen with the time. The gate and the
    leak check run again first (from fingerprints; a supervisor's release reads the true values
    and the blind index too), and the text must be the one approved."""
    _require(actor, "statement.release", "Your role cannot release statements.")
    try:
        with transaction.atomic():
            return _release(
                ctx=ctx, actor=actor, statement=statement, expected_version=expected_version
            )
    except StatementBlockedError as blocked:
        _refusal(actor, statement, "release", blocked)
        raise


def _release(
    *, ctx: KeyContext, actor: User, statement: Statement, expected_version: int
) -> Statement:
    statement = _locked(statement, expected_version)
    if statement.status != StatementStatus.APPROVED:
        raise _step_refused("Only an approved statement can be released.")
    data = payload_read(ctx=ctx, record=statement)
    subjects = subjects_resolve(ctx=ctx, data=data)
    rendered = statement_rendered(data, subjects)
    if subjects.closed() or rendered.missing:
        raise StatementBlockedError(closed=subjects.closed(), missing=rendered.missing)
    approval = data.get("approval") or {}
    if rendered.digest() != approval.get("digest"):
        raise StatementBlockedError(changed=True)
    hits = _press_check(ctx=ctx, rendered=rendered, subjects=subjects)
    if not hits and actor.role == Role.SUPERVISOR:
        scope = subjects.gate.cases()
        if all(access.can_view_case(actor, case) for case in Case.objects.filter(pk__in=scope)):
            hits = _full_check(
                ctx=ctx,
                actor=actor,
                rendered=rendered,
                subjects=subjects,
                cleared=list(approval.get("cleared") or []),
            )
    if hits:
        raise StatementBlockedError(hits=hits)
    now = timezone.now()
    data["released"] = {
        "title": rendered.texts["title"],
        "texts": {k: v for k, v in rendered.texts.items() if k != "title"},
        "at": now.isoformat(),
    }
    record_update(
        ctx=ctx,
        record=statement,
        expected_version=expected_version,
        data=data,
        fields={
            "status": StatementStatus.RELEASED,
            "released_by": actor,
            "released_at": now,
            "updated_at": now,
        },
    )
    audit_record(
        actor=actor,
        action="statement.release",
        target=statement,
        detail={"languages": sorted(data["released"]["texts"])},
    )
    return statement


@transaction.atomic
def statement_withdraw(
    *, ctx: KeyContext, actor: User, statement: Statement, expected_version: int, reason: str
) -> Statement:
    """Withdraw a released (or approved) statement: it is no longer rendered outward; what was
    released is kept, with why it was withdrawn."""
    _require(actor, "statement.withdraw", "Your role cannot withdraw statements.")
    statement = _locked(statement, expected_version)
    if statement.status not in (StatementStatus.RELEASED, StatementStatus.APPROVED):
        raise _step_refused("Only an approved or released statement can be withdrawn.")
    reason = clean_text(reason, field="reason", max_length=facts.MAX_REASON_CHARS, required=True)
    data = payload_read(ctx=ctx, record=statement)
    now = timezone.now()
    data["withdrawn"] = {"reason": reason, "by": actor.pk, "at": now.isoformat()}
    record_update(
        ctx=ctx,
        record=statement,
        expected_version=expected_version,
        data=data,
        fields={"status": StatementStatus.WITHDRAWN, "withdrawn_at": now, "updated_at": now},
    )
    audit_record(actor=actor, action="statement.withdraw", target=statement, detail={})
    return statement
