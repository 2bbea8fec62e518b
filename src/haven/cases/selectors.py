"""Reads of requests and cases. Lists filter on plain columns; details decrypt and are audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from haven import access
from haven.accounts.models import Role, User
from haven.audit.services import audit_record
from haven.cases.journey import TERMINAL, State, allowed_targets
from haven.cases.models import Case, Group, JourneyEvent, Note, Request, RequestStatus, Urgency
from haven.cases.tallies import (
    visible_counts,
    visible_due_before,
    visible_request_counts,
    visible_total,
)
from haven.crypto import CryptoError, KeyContext
from haven.validation import clean_country
from haven.vault.sealed import data_keys_unlock, payload_read

ACTIVE_Q = ~Q(state__in=list(TERMINAL))


def case_queryset(*, user: User) -> QuerySet[Case]:
    """Every case ``user`` may see, by need to know."""
    if not access.has_role(user, access.CASE_READERS):
        raise PermissionDenied("Your role cannot see cases.")
    return Case.objects.filter(access.visible_to(user))


def case_list(
    *,
    user: User,
    state: str | None = None,
    urgency: int | None = None,
    owner_id: Any = None,
    country: str | None = None,
    overdue: bool = False,
    active: bool | None = None,
    group_id: Any = None,
    now: dt.datetime | None = None,
) -> QuerySet[Case]:
    """The filtered case list (plain columns only), most urgent first. ``country`` is a code or
    a name (:func:`haven.validation.clean_country`); one that names no country raises
    ValidationError."""
    qs = case_queryset(user=user)
    if state:
        qs = qs.filter(state=state)
    if urgency:
        qs = qs.filter(urgency=urgency)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if country:
        # A name or a code; one we do not know is an error, never the unfiltered list.
        qs = qs.filter(country=clean_country(country))
    if group_id:
        qs = qs.filter(group_id=group_id)
    if active is True:
        qs = qs.filter(ACTIVE_Q)
    elif active is False:
        qs = qs.exclude(ACTIVE_Q)
    if overdue:
        qs = qs.filter(ACTIVE_Q, next_contact_due__lt=now or timezone.now())
    return qs.select_related("person", "person__data_key", "owner").order_by(
        "-urgency", "-opened_at"
    )


# Filters the counts kept at write time answer (haven.cases.tallies); any other filter (an owner,
# a country, a group, overdue) narrows the list enough to count it directly.
_TALLIED = {"state", "urgency", "active"}


def case_list_count(*, user: User, cases: QuerySet[Case], filters: dict[str, Any]) -> int:
    """How many cases ``case_list(user=user, **filters)`` gave (``cases``): from the counts kept
    at write time when only the state, urgency and active filters are set, counted otherwise."""
    given = {
        name for name, value in filters.items() if value not in (None, "", False) and name != "now"
    }
    if "overdue" in given and given <= {"overdue", "active"} and filters.get("active") is not False:
        return overdue_count(user=user, now=filters.get("now") or timezone.now())
    if given - _TALLIED:
        return cases.count()
    states: set[str] | None = {filters["state"]} if filters.get("state") else None
    excluding: frozenset[str] | set[str] = set()
    if filters.get("active") is True:
        excluding = TERMINAL
    elif filters.get("active") is False:
        states = (states if states is not None else set(State.values)) & set(TERMINAL)
    return visible_total(
        user,
        states=states,
        urgency=int(filters["urgency"]) if filters.get("urgency") else None,
        excluding=excluding,
    )


def overdue_count(*, user: User, now: dt.datetime) -> int:
    """Open cases ``user`` may see whose next contact is before ``now``: the days before today
    (UTC) from the counts kept at write time, today's cases counted directly (few)."""
    today = now.astimezone(dt.UTC).date()
    start = dt.datetime.combine(today, dt.time.min, tzinfo=dt.UTC)
    today_due = case_queryset(user=user).filter(
        ACTIVE_Q, next_contact_due__gte=start, next_contact_due__lt=now
    )
    return visible_due_before(user, today) + today_due.count()


@dataclass
class CaseRow:
    case: Case
    name: str
    name_romanized: str


def case_rows(
    *, ctx: KeyContext, user: User, cases: list[Case] | QuerySet[Case], audited: bool = True
) -> list[CaseRow]:
    """Decrypt the names for one page of cases, audited as one list read (``audited=False``:
    the caller's own entry names the cases, as the search page's does)."""
    cases = list(cases)
    # One grant query for the page, not one per row.
    data_keys_unlock(ctx=ctx, key_ids=[case.person.data_key_id for case in cases])
    rows = []
    for case in cases:
        person = payload_read(ctx=ctx, record=case.person)
        rows.append(
            CaseRow(
                case=case,
                name=person.get("name_hangul")
                or person.get("name_romanized")
                or (person.get("aliases") or ["—"])[0],
                name_romanized=person.get("name_romanized", ""),
            )
        )
    if rows and audited:
        audit_record(
            actor=user, action="case.list", detail={"cases": [str(r.case.pk) for r in rows]}
        )
    return rows


@dataclass
class EventView:
    event: JourneyEvent
    region: str
    place: str
    note: str


@dataclass
class CaseDetail:
    case: Case
    person: dict[str, Any]
    data: dict[str, Any]
    events: list[EventView]
    notes: list[dict[str, Any]]
    group_members: list[CaseRow] = field(default_factory=list)
    allowed_moves: list[State] = field(default_factory=list)


def case_get(*, user: User, case_id: Any) -> Case:
    """One case the user may see, or 404 (never a hint that it exists). Roles that never see
    cases are told so (403) whatever the id, which reveals nothing."""
    if not access.allowed(user, "case.read"):
        raise PermissionDenied("Your role cannot see cases.")
    try:
        case = Case.objects.select_related(
            "data_key", "person", "person__data_key", "owner", "group", "request"
        ).get(pk=case_id)
    except (Case.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such case.") from exc
    if not access.can_view_case(user, case):
        raise Http404("No such case.")
    return case


def case_detail(*, ctx: KeyContext, user: User, case_id: Any) -> CaseDetail:
    """Everything on a case page, decrypted; the read is audited."""
    case = case_get(user=user, case_id=case_id)
    events = [
        EventView(
            event=e,
            **{k: payload_read(ctx=ctx, record=e).get(k, "") for k in ("region", "place", "note")},
        )
        for e in case.events.select_related("recorded_by", "data_key").order_by(
            "occurred_at", "recorded_at"
        )
    ]
    notes = [
        {"note": n, "text": payload_read(ctx=ctx, record=n).get("text", "")}
        for n in case.notes.select_related("author", "data_key")
    ]
    members: list[CaseRow] = []
    if case.group_id:
        others = (
            case_queryset(user=user)
            .filter(group_id=case.group_id)
            .select_related("person", "person__data_key")
        )
        members = [
            CaseRow(
                case=c,
                name=_display_name(payload_read(ctx=ctx, record=c.person)),
                name_romanized="",
            )
            for c in others
        ]
    audit_record(actor=user, action="case.view", target=case)
    return CaseDetail(
        case=case,
        person=payload_read(ctx=ctx, record=case.person),
        data=payload_read(ctx=ctx, record=case),
        events=events,
        notes=notes,
        group_members=members,
        allowed_moves=allowed_targets(case.state, returns_to=case.returns_to or None),
    )


def _display_name(person: dict[str, Any]) -> str:
    return (
        person.get("name_hangul")
        or person.get("name_romanized")
        or (person.get("aliases") or ["—"])[0]
    )


@dataclass
class Dashboard:
    by_state: dict[str, int]
    active: int
    urgent: list[Case]
    overdue: list[Case]
    overdue_count: int
    new_requests: int
    requests_by_year: list[tuple[int, int]]


def dashboard(*, user: User, now: dt.datetime | None = None, limit: int = 10) -> Dashboard:
    """Counts by state, the most urgent and the overdue cases, new requests, requests per year."""
    now = now or timezone.now()
    qs = case_queryset(user=user)
    counts: dict[str, int] = {}
    for (state, _urgency), n in visible_counts(user).items():
        counts[state] = counts.get(state, 0) + n
    by_state = {state.value: counts.get(state.value, 0) for state in State}
    active_qs = qs.filter(ACTIVE_Q)
    urgent = list(
        active_qs.filter(urgency=Urgency.CRITICAL)
        .select_related("person", "person__data_key")
        .order_by("-opened_at")[:limit]
    )
    overdue_qs = active_qs.filter(next_contact_due__lt=now)
    overdue = list(
        overdue_qs.select_related("person", "person__data_key").order_by("next_contact_due")[:limit]
    )
    req = Request.objects.all()
    return Dashboard(
        by_state=by_state,
        active=sum(n for s, n in by_state.items() if s not in TERMINAL),
        urgent=urgent,
        overdue=overdue,
        overdue_count=overdue_count(user=user, now=now),
        new_requests=req.filter(status=RequestStatus.NEW).count()
        if user.role in (Role.INTAKE, Role.SUPERVISOR)
        else 0,
        requests_by_year=_requests_per_year_remembered(),
    )


def _requests_per_year_remembered() -> list[tuple[int, int]]:
    """:func:`requests_per_year`, kept for a minute: the bar moves with each new request, and
    does not need to within the minute."""
    found = cache.get("haven:requests_per_year")
    if found is None:
        found = requests_per_year()
        cache.set("haven:requests_per_year", found, 60)
    return list(found)


def requests_per_year() -> list[tuple[int, int]]:
    """Requests received per calendar year (local time), oldest first.

    One indexed range count per year rather than extracting the year of every row, which would
    read the whole table on each dashboard load.
    """
    bounds = Request.objects.aggregate(first=Min("received_at"), last=Max("received_at"))
    if bounds["first"] is None:
        return []
    zone = timezone.get_current_timezone()
    first = timezone.localtime(bounds["first"], zone).year
    last = timezone.localtime(bounds["last"], zone).year
    counts = []
    for year in range(first, last + 1):
        start = dt.datetime(year, 1, 1, tzinfo=zone)
        end = dt.datetime(year + 1, 1, 1, tzinfo=zone)
        n = Request.objects.filter(received_at__gte=start, received_at__lt=end).count()
        if n:
            counts.append((year, n))
    return counts


def request_list(
    *,
    user: User,
    status: str | None = None,
    channel: str | None = None,
    urgency: int | None = None,
    owner: str | None = None,
    awaiting_reply: bool = False,
) -> QuerySet[Request]:
    """The intake inbox: requests most urgent and newest first, optionally by triage status,
    channel, urgency, owner of their cases (``"me"``, ``"none"`` or a user id) and whether a
    message from the requester or broker waits for a reply."""
    if not access.has_role(user, access.REQUEST_HANDLERS):
        raise PermissionDenied("Your role cannot see requests.")
    qs = Request.objects.select_related("broker", "broker__data_key", "data_key").order_by(
        "-urgency", "-received_at"
    )
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if urgency:
        qs = qs.filter(urgency=urgency)
    if owner == "none":
        qs = qs.exclude(Exists(Case.objects.filter(request_id=OuterRef("pk"), owner__isnull=False)))
    elif owner:
        owner_id = user.pk if owner == "me" else int(owner) if str(owner).isdigit() else None
        qs = qs.filter(Exists(Case.objects.filter(request_id=OuterRef("pk"), owner_id=owner_id)))
    if awaiting_reply:
        from haven.notifications.selectors import awaiting_reply as waiting

        qs = waiting(qs)
    # EXISTS per row, not a join + DISTINCT over the payload columns of every row.
    return qs.filter(access.visible_to(user))


def request_list_count(*, user: User, requests: QuerySet[Request], filters: dict[str, Any]) -> int:
    """How many requests ``request_list(user=user, **filters)`` gave (``requests``): from the
    counts kept at write time when no filter or only the status is set, counted otherwise."""
    given = {name for name, value in filters.items() if value not in (None, "", False)}
    if given - {"status"}:
        return requests.count()
    counts = visible_request_counts(user)
    if filters.get("status"):
        return counts.get(filters["status"], 0)
    return sum(counts.values())


@dataclass
class RequestRow:
    request: Request
    names: list[str]
    owners: list[str]
    broker_alias: str
    awaiting_reply: bool
    states: list[str]


def request_rows(*, ctx: KeyContext, user: User, requests: list[Request]) -> list[RequestRow]:
    """One page of the inbox: each request with its people's names, the owners and states of
    its cases, its broker's alias and whether a message waits for a reply
    (:attr:`Request.awaiting_reply`). Names and aliases are decrypted for the page; audited as
    one list read."""
    ids = [r.pk for r in requests]
    cases = list(
        case_queryset(user=user)
        .filter(request_id__in=ids)
        .select_related("person", "person__data_key", "owner")
        .order_by("opened_at", "pk")
    )
    names: dict[Any, list[str]] = {pk: [] for pk in ids}
    owners: dict[Any, list[str]] = {pk: [] for pk in ids}
    states: dict[Any, list[str]] = {pk: [] for pk in ids}
    data_keys_unlock(
        ctx=ctx,
        key_ids=[case.person.data_key_id for case in cases]
        + [r.broker.data_key_id for r in requests if r.broker is not None],
    )
    for case in cases:
        names[case.request_id].append(_display_name(payload_read(ctx=ctx, record=case.person)))
        if case.owner is not None and case.owner.username not in owners[case.request_id]:
            owners[case.request_id].append(case.owner.username)
        if case.state not in states[case.request_id]:
            states[case.request_id].append(case.state)
    aliases: dict[Any, str] = {}
    for r in requests:
        if r.broker is not None and r.broker_id not in aliases:
            try:
                aliases[r.broker_id] = payload_read(ctx=ctx, record=r.broker).get("alias", "")
            except CryptoError:
                aliases[r.broker_id] = ""
    if cases:
        audit_record(
            actor=user, action="request.list", detail={"requests": [str(pk) for pk in ids]}
        )
    return [
        RequestRow(
            request=r,
            names=names[r.pk],
            owners=owners[r.pk],
            broker_alias=aliases.get(r.broker_id, ""),
            awaiting_reply=r.awaiting_reply,
            states=states[r.pk],
        )
        for r in requests
    ]


def request_get(*, user: User, request_id: Any) -> Request:
    try:
        return request_list(user=user).get(pk=request_id)
    except (Request.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such request.") from exc


def request_detail(
    *, ctx: KeyContext, user: User, request_id: Any
) -> tuple[Request, dict[str, Any], list[CaseRow]]:
    """A request with its account decrypted and the cases it opened; the read is audited."""
    request = request_get(user=user, request_id=request_id)
    data = payload_read(ctx=ctx, record=request)
    cases = list(
        case_queryset(user=user)
        .filter(request=request)
        .select_related("person", "person__data_key")
    )
    data_keys_unlock(ctx=ctx, key_ids=[c.person.data_key_id for c in cases])
    rows = [
        CaseRow(
            case=c, name=_display_name(payload_read(ctx=ctx, record=c.person)), name_romanized=""
        )
        for c in cases
    ]
    audit_record(actor=user, action="request.view", target=request)
    return request, data, rows


def group_get(*, user: User, group_id: Any) -> Group:
    """A group ``user`` may see (they see at least one of its members), or 404."""
    try:
        if not case_queryset(user=user).filter(group_id=group_id).exists():
            raise Group.DoesNotExist
        return Group.objects.select_related("data_key").get(pk=group_id)
    except (Group.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such group.") from exc


def group_list(*, user: User) -> QuerySet[Group]:
    """The groups ``user`` sees at least one member of, newest first (plain columns only)."""
    members = case_queryset(user=user).filter(group_id=OuterRef("pk"))
    return (
        Group.objects.filter(Exists(members))
        .select_related("data_key", "request")
        .order_by("-created_at", "-pk")
    )


@dataclass
class GroupRow:
    group: Group
    label: str
    members: list[CaseRow]


def group_rows(
    *,
    ctx: KeyContext,
    user: User,
    groups: list[Group] | QuerySet[Group],
    audited: bool = True,
) -> list[GroupRow]:
    """One page of groups with their labels and the members ``user`` sees, names decrypted;
    audited as one list read (``audited`` as for :func:`case_rows`)."""
    groups = list(groups)
    members: dict[Any, list[CaseRow]] = {g.pk: [] for g in groups}
    cases = (
        case_queryset(user=user)
        .filter(group_id__in=list(members))
        .select_related("person", "person__data_key")
        .order_by("opened_at", "pk")
    )
    for case in cases:
        person = payload_read(ctx=ctx, record=case.person)
        members[case.group_id].append(
            CaseRow(
                case=case,
                name=_display_name(person),
                name_romanized=person.get("name_romanized", ""),
            )
        )
    rows = [
        GroupRow(
            group=g, label=payload_read(ctx=ctx, record=g).get("label", ""), members=members[g.pk]
        )
        for g in groups
    ]
    if rows and audited:
        audit_record(
            actor=user, action="group.list", detail={"groups": [str(g.pk) for g in groups]}
        )
    return rows


def group_detail(*, ctx: KeyContext, user: User, group_id: Any) -> GroupRow:
    """One group ``user`` sees a member of, with its label and members; the read is audited."""
    group = group_get(user=user, group_id=group_id)
    [row] = group_rows(ctx=ctx, user=user, groups=[group])
    audit_record(actor=user, action="group.view", target=group)
    return row


def note_queryset(*, user: User, case_id: Any) -> QuerySet[Note]:
    """The notes of a case ``user`` may see (404 otherwise), oldest first; nothing decrypted."""
    case = case_get(user=user, case_id=case_id)
    return case.notes.select_related("author", "data_key", "case").order_by("created_at")


def note_rows(
    *, ctx: KeyContext, user: User, notes: list[Note] | QuerySet[Note]
) -> list[dict[str, Any]]:
    """Decrypt one page of notes (``{"note": Note, "text": str}``); audited as one read."""
    rows = [{"note": n, "text": payload_read(ctx=ctx, record=n).get("text", "")} for n in notes]
    if rows:
        audit_record(
            actor=user,
            action="case.notes",
            target=rows[0]["note"].case,
            detail={"notes": [str(r["note"].pk) for r in rows]},
        )
    return rows
