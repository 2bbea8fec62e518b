"""State changes for requests, people, cases, groups, journey events and notes.

Every function is keyword-only, runs in one transaction, checks access, writes its audit entry in
that transaction, and reads or writes sensitive fields only through :mod:`haven.vault.sealed`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven import access
from haven.accounts.models import Role, User
from haven.audit.services import audit_record
from haven.brokers.models import Broker, BrokerStatus
from haven.cases.journey import State, TransitionError, check_transition, journey_path
from haven.cases.keyset import (
    case_key_ids,
    case_rekey,
    case_revocable_key_ids,
    case_shred,
    request_shred_if_empty,
)
from haven.cases.models import (
    Case,
    Channel,
    Confidence,
    Group,
    JourneyEvent,
    Note,
    Person,
    Request,
    RequestStatus,
    Source,
    Urgency,
)
from haven.cases.search import group_index_values, person_index_values
from haven.crypto import KeyContext
from haven.db.rows import Rows
from haven.dedupe.services import duplicate_candidates_refresh
from haven.dedupe.store import person_encoding_set, person_encodings_build
from haven.errors import ConflictError
from haven.once import once_token_spend
from haven.stats.services import case_facts_build, case_facts_forget, case_facts_record
from haven.validation import (
    clean_choice,
    clean_country,
    clean_past_datetime,
    clean_text,
    clean_text_list,
)
from haven.vault.holders import case_holders, forget_held, holds_key
from haven.vault.index import index_key_active, search_tokens_build, search_tokens_set
from haven.vault.models import DataKey, Grant, SearchIndexKey, TeamKey
from haven.vault.sealed import (
    data_key_create,
    data_keys_build,
    payload_read,
    payload_set,
    record_update,
)
from haven.vault.services import grants_add, grants_remove, team_key_ensure

MAX_PEOPLE_PER_REQUEST = 100
MAX_ACCOUNT_CHARS = 20_000
MAX_NOTE_CHARS = 20_000
MAX_NAME_CHARS = 200
SEXES = ("female", "male", "other", "unknown")
BIRTH_PRECISIONS = ("year", "month", "day", "unknown")
# A birth date as written may be in the lunar calendar; most records do not say ("").
BIRTH_CALENDARS = ("solar", "lunar", "")
# The occupation is kept as written (haven.matching.occupations reads its category for display
# and statistics); the codes of the old fixed list ("restaurant_worker") stay valid text.
MAX_OCCUPATION_CHARS = 200
CHANNEL_SOURCE = {
    Channel.DIRECT_LINE: Source.REQUESTER,
    Channel.BROKER: Source.BROKER,
    Channel.PARTNER: Source.PARTNER,
    Channel.STAFF: Source.STAFF,
}


@dataclass
class PersonInput:
    """What we know of one person when a request arrives."""

    name_hangul: str = ""
    name_romanized: str = ""
    aliases: list[str] = field(default_factory=list)
    sex: str = "unknown"
    birth_value: str = ""
    birth_precision: str = "unknown"
    origin_region: str = ""
    occupation: str = ""  # as written; the old codes ("restaurant_worker") are text too
    own_words: str = ""
    birth_calendar: str = ""  # "solar", "lunar" or "" (not said)


_BIRTH_FORMS = (
    # What was typed tells how precise it is: 1975, 1975-03, 1975-03-02 (also with / or .).
    ("day", re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")),
    ("month", re.compile(r"^(\d{4})[-/.](\d{1,2})$")),
    ("year", re.compile(r"^(\d{4})$")),
)


def _clean_birth(value: str, precision: str, *, field_name: str) -> dict[str, str]:
    """A birth as typed: its precision is what was typed (1975 a year, 1975-03 a month, a full
    date a day). A precision chosen as well must agree with it; "unknown" (the default) takes
    the typed one, so that a year typed without choosing a precision is never dropped."""
    field = f"{field_name}.birth_value"
    precision = clean_choice(
        precision or "unknown", field=f"{field_name}.birth_precision", choices=BIRTH_PRECISIONS
    )
    value = clean_text(value, field=field, max_length=10, multiline=False)
    if not value:
        if precision != "unknown":
            raise ValidationError(
                {field: _("Type the birth year or date, or set the precision to Unknown.")}
            )
        return {"value": "", "precision": "unknown"}
    typed = next(
        ((kind, match) for kind, pattern in _BIRTH_FORMS if (match := pattern.match(value))),
        None,
    )
    if typed is None:
        raise ValidationError(
            {
                field: _(
                    "“%(value)s” is not a birth year or date: type 1975, 1975-03 or 1975-03-02."
                )
                % {"value": value}
            }
        )
    kind, match = typed
    if precision not in ("unknown", kind):
        labels = {"year": _("a year"), "month": _("a year and month"), "day": _("a full date")}
        raise ValidationError(
            {
                field: _(
                    "“%(value)s” is %(typed)s, but the precision chosen is %(chosen)s: "
                    "change one of them so that they agree."
                )
                % {
                    "value": value,
                    "typed": labels[kind],
                    "chosen": labels[precision],
                }
            }
        )
    parts = [int(part) for part in match.groups()]
    try:
        parsed = dt.date(
            parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1
        )
    except ValueError as exc:
        raise ValidationError(
            {field: _("“%(value)s” is not a date in the calendar.") % {"value": value}}
        ) from exc
    if parsed > timezone.localdate() or parsed.year < 1900:
        raise ValidationError({field: _("Birth date must be between 1900 and today.")})
    normalised = "-".join([f"{parts[0]:04d}", *(f"{p:02d}" for p in parts[1:])])
    return {"value": normalised, "precision": kind}


def _birth_with_calendar(
    birth: dict[str, str], calendar: str, *, field_name: str
) -> dict[str, str]:
    """The cleaned birth with its calendar, when a date is known and the calendar was said."""
    calendar = clean_choice(
        (calendar or "").strip().lower(),
        field=f"{field_name}.birth_calendar",
        choices=BIRTH_CALENDARS,
    )
    if calendar and birth.get("value"):
        return {**birth, "calendar": calendar}
    return birth


def person_payload(person: PersonInput, *, index: int = 0) -> dict[str, Any]:
    """Validate one person's details into the shape stored in the encrypted payload."""
    prefix = f"people[{index}]"
    data = {
        "name_hangul": clean_text(
            person.name_hangul,
            field=f"{prefix}.name_hangul",
            max_length=MAX_NAME_CHARS,
            multiline=False,
        ),
        "name_romanized": clean_text(
            person.name_romanized,
            field=f"{prefix}.name_romanized",
            max_length=MAX_NAME_CHARS,
            multiline=False,
        ),
        "aliases": clean_text_list(
            person.aliases, field=f"{prefix}.aliases", max_items=20, max_length=MAX_NAME_CHARS
        ),
        "sex": clean_choice(person.sex or "unknown", field=f"{prefix}.sex", choices=SEXES),
        "birth": _birth_with_calendar(
            _clean_birth(person.birth_value, person.birth_precision, field_name=prefix),
            person.birth_calendar,
            field_name=prefix,
        ),
        "origin_region": clean_text(
            person.origin_region, field=f"{prefix}.origin_region", max_length=200, multiline=False
        ),
        "occupation": clean_text(
            person.occupation,
            field=f"{prefix}.occupation",
            max_length=MAX_OCCUPATION_CHARS,
            multiline=False,
        ),
        "family": [],
    }
    if not (data["name_hangul"] or data["name_romanized"] or data["aliases"]):
        raise ValidationError(
            {
                f"{prefix}.name": "Give at least one name or alias for each person (a nickname is fine)."
            }
        )
    return data


def _event_new(
    *,
    ctx: KeyContext,
    case: Case,
    actor: User | None,
    from_state: str,
    to_state: str,
    occurred_at: dt.datetime,
    country: str,
    source: str,
    confidence: str,
    region: str = "",
    place: str = "",
    note: str = "",
) -> JourneyEvent:
    """A journey event with its payload sealed, not yet saved."""
    event = JourneyEvent(
        case=case,
        data_key=case.data_key,
        from_state=from_state,
        to_state=to_state,
        occurred_at=occurred_at,
        recorded_at=timezone.now(),
        recorded_by=actor if actor is not None and actor.pk else None,
        country=country,
        source=source,
        confidence=confidence,
        case_version=case.version,
    )
    payload_set(ctx=ctx, record=event, data={"region": region, "place": place, "note": note})
    return event


def _clean_owner(*, actor: User, owner: Any) -> User | None:
    """Who may own cases; only supervisors and intake officers assign cases to someone else."""
    if owner is None:
        return None
    if not isinstance(owner, User):
        raise ValidationError({"owner": "Unknown owner."})
    if not access.allowed(owner, "case.own"):
        raise ValidationError(
            {"owner": "Cases can only be owned by caseworkers, supervisors or intake officers."}
        )
    if actor.role not in (Role.SUPERVISOR, Role.INTAKE) and owner.pk != actor.pk:
        raise PermissionDenied("Only supervisors and intake officers assign cases to someone else.")
    return owner


def _check_writer(actor: User) -> None:
    if not access.has_role(actor, access.CASE_WRITERS):
        raise PermissionDenied("Your role cannot change cases.")


def _check_case(actor: User, case: Case) -> None:
    _check_writer(actor)
    if not access.can_view_case(actor, case):
        raise PermissionDenied("You do not have access to this case.")


def request_people_create(
    *,
    ctx: KeyContext,
    request: Request,
    holders: list[Any],
    granted_by: User | None,
    payloads: list[dict[str, Any]],
    own_words: list[str],
    group_label: str = "",
    owner: User | None = None,
    urgency: int,
    country: str,
    source: str,
    received: dt.datetime,
    region: str = "",
    data_keys: list[DataKey] | None = None,
) -> Group | None:
    """What every new request is made of, whoever records it (staff, the portal, a broker): a
    group when it names several people, and per person a person record, a case and its first
    journey event, each person under a data key of their own sealed to ``holders``, with its
    search tokens and matching encodings. Runs in the caller's transaction; returns the group.

    ``data_keys``: the group's (when several people) and each person's keys, if the caller made
    them with its own (:func:`~haven.vault.sealed.data_keys_create`, sealed to ``holders``)."""
    # Every key at once, then every row of a kind in one insert.
    rows = Rows()
    group = request_people_build(
        ctx=ctx,
        request=request,
        holders=holders,
        granted_by=granted_by,
        payloads=payloads,
        own_words=own_words,
        group_label=group_label,
        owner=owner,
        urgency=urgency,
        country=country,
        source=source,
        received=received,
        region=region,
        data_keys=data_keys,
        index_key=index_key_active(),
        rows=rows,
    )
    rows.save()
    # Their possible duplicates among everyone stored, for the review queue (no full pass).
    duplicate_candidates_refresh(
        person_ids=list(Case.objects.filter(request=request).values_list("person_id", flat=True))
    )
    return group


def request_people_build(
    *,
    ctx: KeyContext,
    request: Request,
    holders: list[Any],
    granted_by: User | None,
    payloads: list[dict[str, Any]],
    own_words: list[str],
    group_label: str = "",
    owner: User | None = None,
    urgency: int,
    country: str,
    source: str,
    received: dt.datetime,
    region: str = "",
    data_keys: list[DataKey] | None = None,
    index_key: SearchIndexKey | None,
    rows: Rows,
    statistics_key: TeamKey | None = None,
) -> Group | None:
    """:func:`request_people_create` without writing: every row (keys and grants unless
    ``data_keys`` are given, group, people, search tokens, encodings, cases, first events) is
    sealed and added to ``rows``, in an order the foreign keys accept. The portal builds a
    request this way before it opens its transaction (:mod:`haven.db.rows`).
    ``statistics_key``: the checked statistics key, when the caller builds many requests
    (:func:`~haven.stats.services.statistics_key_checked`); looked up here otherwise."""
    several = len(payloads) > 1
    if data_keys is None:
        data_keys = data_keys_build(
            ctx=ctx,
            holders=holders,
            granted_by=granted_by,
            count=len(payloads) + several,
            rows=rows,
        )
    if len(data_keys) != len(payloads) + several:
        raise ValueError("one data key per person, and one for the group of several")
    keys = list(data_keys)
    group = None
    if several:
        group = Group(data_key=keys.pop(0), request=request)
        payload_set(ctx=ctx, record=group, data={"label": group_label})
        rows.add(group)
    now = timezone.now()
    people = []
    for key, data in zip(keys, payloads, strict=True):
        person = Person(data_key=key)
        payload_set(ctx=ctx, record=person, data=data)
        people.append(person)
    rows.extend(people)
    searchable = {
        person.data_key_id: person_index_values(data)
        for person, data in zip(people, payloads, strict=True)
    }
    if group is not None and group_label:
        searchable[group.data_key_id] = group_index_values({"label": group_label})
    search_tokens_build(ctx=ctx, index_key=index_key, values_by_key=searchable, rows=rows)
    person_encodings_build(
        ctx=ctx,
        people=list(zip(people, payloads, strict=True)),
        broker_id=request.broker_id,
        index_key=index_key,
        rows=rows,
    )
    cases = []
    for person, words in zip(people, own_words, strict=True):
        case = Case(
            data_key=person.data_key,
            person=person,
            request=request,
            group=group,
            owner=owner,
            team=owner.team if owner is not None else None,
            state=State.RECEIVED,
            urgency=urgency,
            country=country,
            opened_at=received,
            updated_at=now,
            state_changed_at=received,
        )
        payload_set(
            ctx=ctx, record=case, data={"own_words": words, "exact_place": "", "summary": ""}
        )
        cases.append(case)
    rows.extend(cases)
    rows.extend(
        _event_new(
            ctx=ctx,
            case=case,
            actor=granted_by,
            from_state="",
            to_state=State.RECEIVED,
            occurred_at=received,
            country=case.country,
            source=source,
            confidence=Confidence.UNVERIFIED,
            region=region,
        )
        for case in cases
    )
    case_facts_build(request=request, cases=cases, payloads=payloads, rows=rows, key=statistics_key)
    return group


@transaction.atomic
def request_create(
    *,
    ctx: KeyContext,
    actor: User,
    channel: str,
    people: list[PersonInput],
    account: str,
    urgency: int = Urgency.NORMAL,
    broker: Broker | None = None,
    contact: str = "",
    received_at: dt.datetime | None = None,
    country: str = "",
    group_label: str = "",
    owner: User | None = None,
    once: str | None = None,
) -> Request:
    """Record an emergency aid request and open one case per person it covers.

    A request for several people also creates their group. Either everything is stored or nothing.
    ``once``: the form's checked one-time token (:mod:`haven.once`); a form sent again raises
    :class:`~haven.once.AlreadyStoredError` and stores nothing.
    """
    if not access.has_role(actor, access.REQUEST_HANDLERS):
        raise PermissionDenied("Your role cannot record requests.")
    channel = clean_choice(channel, field="channel", choices=Channel.values)
    urgency = int(
        clean_choice(_as_int(urgency, "urgency"), field="urgency", choices=Urgency.values)
    )
    account = clean_text(account, field="account", max_length=MAX_ACCOUNT_CHARS, required=True)
    contact = clean_text(contact, field="contact", max_length=1_000)
    country = clean_country(country)
    received = clean_past_datetime(received_at, field="received_at")
    group_label = clean_text(group_label, field="group_label", max_length=200, multiline=False)
    if not isinstance(people, list) or not people:
        raise ValidationError({"people": "A request covers at least one person."})
    if len(people) > MAX_PEOPLE_PER_REQUEST:
        raise ValidationError(
            {
                "people": f"A request can cover at most {MAX_PEOPLE_PER_REQUEST} people; split larger groups into several requests."
            }
        )
    payloads = [person_payload(person, index=i) for i, person in enumerate(people)]
    own_words = [
        clean_text(p.own_words, field=f"people[{i}].own_words", max_length=MAX_NOTE_CHARS)
        for i, p in enumerate(people)
    ]
    if channel == Channel.BROKER and broker is None:
        raise ValidationError({"broker": "A request through a broker must name the broker."})
    if broker is not None and broker.status != BrokerStatus.ACTIVE:
        raise ValidationError(
            {"broker": "This broker is suspended; their requests cannot be recorded."}
        )
    owner = _clean_owner(actor=actor, owner=owner)
    if owner is None and actor.role == Role.CASEWORKER:
        owner = actor  # otherwise the caseworker could not see the cases they just recorded
    once_token_spend(token=once)

    team = owner.team if owner else None
    team_key_ensure(actor=actor, team=team)
    holders = case_holders(actor=actor, owner=owner, team=team)
    # A caseworker who records a request works on it at once (they own its cases): it does not
    # wait in intake's inbox as new. Intake and supervisors recording one still triage it.
    triaged = actor.role == Role.CASEWORKER
    request = Request(
        data_key=data_key_create(ctx=ctx, holders=holders, granted_by=actor),
        channel=channel,
        received_at=received,
        urgency=urgency,
        people_count=len(people),
        broker=broker,
        created_by=actor,
        status=RequestStatus.TRIAGED if triaged else RequestStatus.NEW,
        triaged_by=actor if triaged else None,
        triaged_at=timezone.now() if triaged else None,
    )
    payload_set(
        ctx=ctx,
        record=request,
        data={"account": account, "contact": contact, "people_as_told": len(people)},
    )
    request.save(force_insert=True)

    group = request_people_create(
        ctx=ctx,
        request=request,
        holders=holders,
        granted_by=actor,
        payloads=payloads,
        own_words=own_words,
        group_label=group_label,
        owner=owner,
        urgency=urgency,
        country=country,
        source=CHANNEL_SOURCE[Channel(channel)],
        received=received,
    )
    audit_record(
        actor=actor,
        action="request.create",
        target=request,
        detail={
            "channel": channel,
            "people": len(people),
            "group": str(group.pk) if group else None,
        },
    )
    return request


@transaction.atomic
def requests_assign(*, ctx: KeyContext, actor: User, requests: list[Request], owner: User) -> int:
    """Give every case of these requests to ``owner`` at once (intake's bulk assignment), each as
    :func:`case_update` would, in one transaction: all are assigned or none. Cases the actor does
    not hold are refused (PermissionDenied). Returns how many cases changed owner."""
    if not access.allowed(actor, "case.assign"):
        raise PermissionDenied(_("Only supervisors and intake officers assign cases."))
    if not requests:
        raise ValidationError({"requests": _("Tick at least one request.")})
    moved = 0
    for request in requests:
        cases = list(
            request.cases.select_related("data_key", "team", "owner")
            .select_for_update(of=("self",))
            .order_by("pk")
        )
        for case in cases:
            if case.owner_id == owner.pk:
                continue
            case_update(ctx=ctx, actor=actor, case=case, expected_version=case.version, owner=owner)
            moved += 1
        audit_record(
            actor=actor,
            action="request.assign",
            target=request,
            detail={"owner": owner.pk, "cases": len(cases)},
        )
    return moved


def _as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({name: f"“{value}” is not a number."}) from exc


@transaction.atomic
def request_triage(
    *,
    ctx: KeyContext,
    actor: User,
    request: Request,
    expected_version: int,
    status: str,
    urgency: int | None = None,
    duplicate_of: Request | None = None,
) -> Request:
    """Triage a new request: keep it (triaged), decline it, or mark it a duplicate of another.

    Declining or marking a duplicate moves every case it opened that is still being verified.
    """
    if not access.allowed(actor, "request.triage"):
        raise PermissionDenied("Only intake officers and supervisors triage requests.")
    status = clean_choice(
        status,
        field="status",
        choices=(RequestStatus.TRIAGED, RequestStatus.DECLINED, RequestStatus.DUPLICATE),
    )
    if status == RequestStatus.DUPLICATE and (
        duplicate_of is None or duplicate_of.pk == request.pk
    ):
        raise ValidationError({"duplicate_of": "Name the earlier request this one duplicates."})
    fields: dict[str, Any] = {"status": status, "triaged_by": actor, "triaged_at": timezone.now()}
    if urgency is not None:
        fields["urgency"] = int(
            clean_choice(_as_int(urgency, "urgency"), field="urgency", choices=Urgency.values)
        )
    fields["duplicate_of"] = duplicate_of if status == RequestStatus.DUPLICATE else None
    record_update(ctx=ctx, record=request, expected_version=expected_version, fields=fields)
    target = {RequestStatus.DECLINED: State.DECLINED, RequestStatus.DUPLICATE: State.DUPLICATE}.get(
        RequestStatus(status)
    )
    moved = 0
    for case in request.cases.select_related("data_key").select_for_update().order_by("pk"):
        if urgency is not None and case.urgency != fields["urgency"]:
            record_update(
                ctx=ctx,
                record=case,
                expected_version=case.version,
                fields={"urgency": fields["urgency"], "updated_at": timezone.now()},
            )
        if target is not None and case.state in (State.RECEIVED, State.VERIFYING):
            _transition(
                ctx=ctx,
                actor=actor,
                case=case,
                to_state=target,
                occurred_at=timezone.now(),
                country=case.country,
                source=Source.STAFF,
                confidence=Confidence.CONFIRMED,
            )
            moved += 1
    audit_record(
        actor=actor,
        action="request.triage",
        target=request,
        detail={"status": status, "cases_moved": moved},
    )
    return request


def _transition(
    *,
    ctx: KeyContext,
    actor: User,
    case: Case,
    to_state: str,
    occurred_at: dt.datetime,
    country: str,
    source: str,
    confidence: str,
    region: str = "",
    place: str = "",
    note: str = "",
    expected_version: int | None = None,
) -> JourneyEvent:
    target = check_transition(case.state, to_state, returns_to=case.returns_to or None)
    if occurred_at < case.state_changed_at:
        # Late news is fine, but a step dated before the one it follows would make the timeline
        # contradict the chain of states.
        raise ValidationError(
            {"occurred_at": "Is before the case's last recorded step; check the date."}
        )
    here = case.state
    returns_to = case.returns_to
    if target == State.LOST_CONTACT:
        returns_to = here
    elif here == State.LOST_CONTACT:
        returns_to = ""
    data = payload_read(ctx=ctx, record=case)
    if place:
        data["exact_place"] = place
    now = timezone.now()
    record_update(
        ctx=ctx,
        record=case,
        expected_version=case.version if expected_version is None else expected_version,
        data=data,
        fields={
            "state": target,
            "returns_to": returns_to,
            "country": country or case.country,
            "updated_at": now,
            "state_changed_at": occurred_at,
        },
    )
    event = _event_new(
        ctx=ctx,
        case=case,
        actor=actor,
        from_state=here,
        to_state=target,
        occurred_at=occurred_at,
        country=country or case.country,
        source=source,
        confidence=confidence,
        region=region,
        place=place,
        note=note,
    )
    event.save(force_insert=True)
    case_facts_record(ctx=ctx, case=case)
    return event


def _clean_event_input(
    *,
    occurred_at: Any,
    country: Any,
    source: Any,
    confidence: Any,
    region: Any,
    place: Any,
    note: Any,
) -> dict[str, Any]:
    return {
        "occurred_at": clean_past_datetime(occurred_at, field="occurred_at"),
        "country": clean_country(country),
        "source": clean_choice(source, field="source", choices=Source.values),
        "confidence": clean_choice(confidence, field="confidence", choices=Confidence.values),
        "region": clean_text(region, field="region", max_length=200, multiline=False),
        "place": clean_text(place, field="place", max_length=500),
        "note": clean_text(note, field="note", max_length=MAX_NOTE_CHARS),
    }


@transaction.atomic
def journey_advance(
    *,
    ctx: KeyContext,
    actor: User,
    case: Case,
    to_state: str,
    expected_version: int,
    occurred_at: dt.datetime | None = None,
    country: str = "",
    source: str = Source.STAFF,
    confidence: str = Confidence.CONFIRMED,
    region: str = "",
    place: str = "",
    note: str = "",
) -> JourneyEvent:
    """Move one case along its journey and record the event.

    A move the journey does not allow raises :class:`TransitionError` and changes nothing.
    """
    _check_case(actor, case)
    cleaned = _clean_event_input(
        occurred_at=occurred_at,
        country=country,
        source=source,
        confidence=confidence,
        region=region,
        place=place,
        note=note,
    )
    here = case.state
    event = _transition(
        ctx=ctx,
        actor=actor,
        case=case,
        to_state=to_state,
        expected_version=expected_version,
        **cleaned,
    )
    audit_record(
        actor=actor,
        action="case.transition",
        target=case,
        detail={"from": here, "to": event.to_state},
    )
    return event


def _walk(
    *, ctx: KeyContext, actor: User, case: Case, to_state: str, cleaned: dict[str, Any]
) -> JourneyEvent:
    """Move ``case`` to ``to_state`` through the steps between (:func:`journey_path`): one
    event each, at the same time and from the same source; what was typed about the place,
    the country and the note goes with the last step only."""
    steps = journey_path(case.state, to_state, returns_to=case.returns_to or None)
    passing = {
        **cleaned,
        "country": "",
        "region": "",
        "place": "",
        "note": "",
    }
    event: JourneyEvent | None = None
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        event = _transition(
            ctx=ctx, actor=actor, case=case, to_state=step, **(cleaned if last else passing)
        )
    if event is None:  # journey_path returns at least the target
        raise TransitionError(case.state, to_state)
    return event


@transaction.atomic
def group_advance(
    *,
    ctx: KeyContext,
    actor: User,
    group: Group,
    case_versions: dict[Any, int],
    to_state: str,
    occurred_at: dt.datetime | None = None,
    country: str = "",
    source: str = Source.STAFF,
    confidence: str = Confidence.CONFIRMED,
    region: str = "",
    place: str = "",
    note: str = "",
    through: bool = False,
) -> list[JourneyEvent]:
    """Move the chosen members of a group together: all of them, or none. With ``through``, a
    state further along the main path (:func:`~haven.cases.journey.reachable_targets`) is
    reached through the steps between, each an event of its own (the country, place and note
    typed go with the last step): a group known to be in Thailand gets there in one submission.

    ``case_versions`` maps each chosen case to the version the caller saw. If any member has
    changed since (:class:`ConflictError`) or cannot make the move (:class:`TransitionError`,
    naming the member in ``case_id``), no member moves.
    """
    _check_writer(actor)
    if not case_versions:
        raise ValidationError({"case_ids": _("Choose at least one member of the group.")})
    wanted = {str(case_id): version for case_id, version in case_versions.items()}
    members = list(
        group.cases.select_related("data_key")
        .select_for_update()
        .filter(pk__in=list(wanted))
        .order_by("pk")
    )
    if len(members) != len(wanted):
        raise ValidationError({"case_ids": _("Every chosen case must be a member of this group.")})
    for case in members:
        if case.version != wanted[str(case.pk)]:
            raise ConflictError(
                _("A member of the group changed since you opened it; no member was moved."),
                current_version=case.version,
            )
    cleaned = _clean_event_input(
        occurred_at=occurred_at,
        country=country,
        source=source,
        confidence=confidence,
        region=region,
        place=place,
        note=note,
    )
    for case in members:
        _check_case(actor, case)
        try:
            if through:
                journey_path(case.state, to_state, returns_to=case.returns_to or None)
            else:
                check_transition(case.state, to_state, returns_to=case.returns_to or None)
        except TransitionError as exc:
            raise TransitionError(
                case.state,
                to_state,
                _("%(reason)s So no member was moved.") % {"reason": exc},
                case_id=case.pk,
            ) from exc
    events = [
        _walk(ctx=ctx, actor=actor, case=case, to_state=to_state, cleaned=cleaned)
        if through
        else _transition(ctx=ctx, actor=actor, case=case, to_state=to_state, **cleaned)
        for case in members
    ]
    audit_record(
        actor=actor,
        action="group.transition",
        target=group,
        detail={"to": to_state, "cases": sorted(str(c.pk) for c in members)},
    )
    return events


@transaction.atomic
def case_update(
    *,
    ctx: KeyContext,
    actor: User,
    case: Case,
    expected_version: int,
    urgency: int | None = None,
    next_contact_due: dt.datetime | None | str = "",
    owner: User | None | str = "",
    own_words: str | None = None,
    summary: str | None = None,
) -> Case:
    """Change a case's handling (urgency, owner, next contact) or its sensitive text.

    Arguments left at their defaults are not changed; ``None`` clears ``owner``/``next_contact_due``.
    """
    _check_case(actor, case)
    fields: dict[str, Any] = {"updated_at": timezone.now()}
    changed: list[str] = []
    if urgency is not None:
        fields["urgency"] = int(
            clean_choice(_as_int(urgency, "urgency"), field="urgency", choices=Urgency.values)
        )
        changed.append("urgency")
    if next_contact_due != "":
        if next_contact_due is not None and not isinstance(next_contact_due, dt.datetime):
            raise ValidationError({"next_contact_due": "Must be a date and time."})
        if isinstance(next_contact_due, dt.datetime) and timezone.is_naive(next_contact_due):
            next_contact_due = timezone.make_aware(next_contact_due)
        fields["next_contact_due"] = next_contact_due
        changed.append("next_contact_due")
    if owner != "":
        owner = _clean_owner(actor=actor, owner=owner)
        fields["owner"] = owner
        fields["team"] = owner.team if owner is not None else case.team
        changed.append("owner")
    data = payload_read(ctx=ctx, record=case)
    if isinstance(owner, User):
        # The new owner and their team need the keys: sealed to them now, by the actor who holds
        # them. The previous holders keep theirs until a supervisor revokes them.
        for holder in (owner, team_key_ensure(actor=actor, team=owner.team)):
            if holder is not None:
                grants_add(
                    ctx=ctx,
                    actor=actor,
                    data_key_ids=case_key_ids(ctx=ctx, case=case),
                    holder=holder,
                )
    if own_words is not None:
        data["own_words"] = clean_text(own_words, field="own_words", max_length=MAX_NOTE_CHARS)
        changed.append("own_words")
    if summary is not None:
        data["summary"] = clean_text(summary, field="summary", max_length=MAX_NOTE_CHARS)
        changed.append("summary")
    record_update(ctx=ctx, record=case, expected_version=expected_version, data=data, fields=fields)
    audit_record(actor=actor, action="case.update", target=case, detail={"fields": changed})
    return case


@transaction.atomic
def person_update(
    *,
    ctx: KeyContext,
    actor: User,
    case: Case,
    expected_version: int,
    person: PersonInput,
    family: list[dict[str, str]] | None = None,
) -> Person:
    """Replace the identifying details of the person a case is about."""
    _check_case(actor, case)
    record = case.person
    data = person_payload(person)
    if family is not None:
        data["family"] = _clean_family(family, actor=actor, case=case)
    else:
        data["family"] = payload_read(ctx=ctx, record=record).get("family", [])
    record_update(ctx=ctx, record=record, expected_version=expected_version, data=data)
    search_tokens_set(ctx=ctx, data_key_id=record.data_key_id, values=person_index_values(data))
    person_encoding_set(
        ctx=ctx,
        person=record,
        data=data,
        broker_id=case.request.broker_id if case.request is not None else None,
    )
    duplicate_candidates_refresh(person_ids=[record.pk])
    case_facts_record(ctx=ctx, case=case, person=data)
    audit_record(actor=actor, action="person.update", target=case, detail={})
    return record


def _clean_family(family: list[dict[str, str]], *, actor: User, case: Case) -> list[dict[str, str]]:
    """Family links: a relation, a name, and the case of that relative if Haven has one.

    The case id must name a case the actor may open (another than this one), or be empty: a
    link is followed by the next reader, so it must not point at nothing, at a record of
    another kind, or at a case the person recording it could not see.
    """
    import uuid

    if not isinstance(family, list | tuple):
        raise ValidationError({"family": "Must be a list of family links."})
    if len(family) > 50:
        raise ValidationError({"family": "At most 50 family links."})
    cleaned = []
    for i, link in enumerate(family):
        if not isinstance(link, dict):
            raise ValidationError({f"family[{i}]": "Must be a relation, a name and a case id."})
        case_id = clean_text(
            link.get("case_id"), field=f"family[{i}].case_id", max_length=36, multiline=False
        )
        if case_id:
            try:
                case_id = str(uuid.UUID(case_id))
            except ValueError:
                raise ValidationError(
                    {f"family[{i}].case_id": "Must be the id of a case (a UUID), or empty."}
                ) from None
            if case_id == str(case.pk):
                raise ValidationError(
                    {f"family[{i}].case_id": "A person cannot be their own relative."}
                )
            if not Case.objects.filter(pk=case_id).filter(access.visible_to(actor)).exists():
                # The same answer for a case that does not exist and one the actor cannot see.
                raise ValidationError(
                    {f"family[{i}].case_id": "No case with this id that you can open."}
                )
        cleaned.append(
            {
                "relation": clean_text(
                    link.get("relation"),
                    field=f"family[{i}].relation",
                    max_length=60,
                    required=True,
                    multiline=False,
                ),
                "name": clean_text(
                    link.get("name"),
                    field=f"family[{i}].name",
                    max_length=MAX_NAME_CHARS,
                    multiline=False,
                ),
                "case_id": case_id,
            }
        )
    return cleaned


@transaction.atomic
def note_add(
    *, ctx: KeyContext, actor: User, case: Case, text: str, once: str | None = None
) -> Note:
    """Add a note to a case. ``once``: the form's checked one-time token (:mod:`haven.once`);
    a form sent again raises :class:`~haven.once.AlreadyStoredError` and adds nothing."""
    _check_case(actor, case)
    text = clean_text(text, field="text", max_length=MAX_NOTE_CHARS, required=True)
    once_token_spend(token=once)
    note = Note(case=case, data_key=case.data_key, author=actor, created_at=timezone.now())
    payload_set(ctx=ctx, record=note, data={"text": text})
    note.save(force_insert=True)
    audit_record(actor=actor, action="case.note", target=case, detail={"note": str(note.pk)})
    return note


__all__ = [
    "ConflictError",
    "PersonInput",
    "TransitionError",
    "case_update",
    "group_advance",
    "journey_advance",
    "note_add",
    "person_update",
    "request_create",
    "request_triage",
]


def _grantee(holder: Any) -> User | TeamKey:
    if isinstance(holder, User):
        if not access.has_role(holder, access.CASE_READERS):
            raise ValidationError(
                {"user": f"{holder.username}'s role does not work with cases, so cannot hold one."}
            )
        return holder
    if isinstance(holder, TeamKey) and holder.active:
        return holder
    raise ValidationError({"user": "Choose a staff member or an active team key."})


@transaction.atomic
def case_grant(*, ctx: KeyContext, actor: User, case: Case, holder: User | TeamKey) -> int:
    """Give a colleague (or a team) access to a case: its keys are sealed to their public key.

    Anyone who can read the case may grant it; the grant is audited. Returns how many keys were
    sealed (the case's own, its request's, group's and sent referrals' that the actor holds).
    """
    _check_case(actor, case)
    if isinstance(holder, User) and holder.pk == actor.pk:
        # Nobody changes their own grants: a personal copy would outlive their team or role.
        raise ValidationError({"user": "You cannot grant access to yourself."})
    holder = _grantee(holder)
    count = grants_add(
        ctx=ctx, actor=actor, data_key_ids=case_key_ids(ctx=ctx, case=case), holder=holder
    )
    audit_record(actor=actor, action="case.grant", target=case, detail=_holder_detail(holder))
    return count


@transaction.atomic
def case_revoke(
    *, ctx: KeyContext, actor: User, case: Case, holder: User | TeamKey, rotate: bool = False
) -> Case:
    """Take a person's (or team's) access away from a case. Supervisors only.

    With ``rotate``, the case also gets a new data key and every record under it is re-encrypted,
    so that a copy of the old key the person may have kept opens nothing written from now on —
    nor the stored records, which no longer use it.
    """
    _check_case(actor, case)
    if actor.role != Role.SUPERVISOR:
        raise PermissionDenied("Only supervisors revoke access.")
    if isinstance(holder, User) and holder.pk == actor.pk:
        raise ValidationError(
            {"user": "You cannot revoke your own access; ask another supervisor."}
        )
    key_ids = case_revocable_key_ids(ctx=ctx, case=case, holder=holder)
    removed = grants_remove(data_key_ids=key_ids, holder=holder)
    if not removed:
        raise ValidationError({"user": "They hold no key for this case."})
    if not Grant.objects.filter(data_key_id=case.data_key_id, stale=False).exists():
        raise ValidationError({"user": "This would leave nobody able to open the case."})
    if isinstance(holder, User):
        forget_held(holder)
        if holds_key(holder, case.data_key_id):
            # Saying "revoked" while they still open it through a team key would be a lie.
            raise ValidationError(
                {
                    "user": f"{holder.username} still holds this case through a team key "
                    "(their team's, intake's or the supervisors'): revoke that key from the case, "
                    "or change their team or role."
                }
            )
    if rotate:
        case = case_rekey(ctx=ctx, actor=actor, case=case)
    audit_record(
        actor=actor,
        action="case.revoke",
        target=case,
        detail={**_holder_detail(holder), "rotated": rotate},
    )
    return case


def _holder_detail(holder: User | TeamKey) -> dict[str, Any]:
    if isinstance(holder, User):
        return {"user": str(holder.pk)}
    return {"team_key": str(holder.pk), "kind": holder.kind}


@transaction.atomic
def case_delete(*, ctx: KeyContext, actor: User, case: Case, expected_version: int) -> None:
    """Delete a case for real (supervisors only): its records, its search tokens and every sealed
    copy of its data key, the recovery copy included, and its request and group once no case of
    theirs is left. Ciphertext copied out of the live database opens for nobody; a backup taken
    *before* the deletion still holds sealed copies of the key until that backup is destroyed
    (docs/security.md, "Backups"). The audit keeps only that a case was deleted, by whom, when.
    """

    _check_case(actor, case)
    if actor.role != Role.SUPERVISOR:
        raise PermissionDenied("Only supervisors delete cases.")
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.version != expected_version:
        raise ConflictError(current_version=case.version)
    # Opening it first proves the actor really holds the key (and that it was not tampered with).
    payload_read(ctx=ctx, record=case)
    case_id, request_id = case.pk, case.request_id
    case_facts_forget(case=case)
    case_shred(case=case)
    if request_id is not None:
        request_shred_if_empty(request_id=request_id)
    audit_record(actor=actor, action="case.delete", detail={"case": str(case_id)})
