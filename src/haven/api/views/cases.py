"""Cases: the list, a case with its person, journey and notes, updates and journey moves."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from haven.accounts.models import User
from haven.api import serializers as s
from haven.api.views.base import (
    HavenApi,
    actor,
    ctx,
    lookup,
    page,
    query,
    require_case_reader,
    responses,
    validated,
    versioned,
)
from haven.cases.journey import allowed_targets
from haven.cases.models import Case, JourneyEvent, Note
from haven.cases.search import person_search
from haven.cases.selectors import (
    CaseDetail,
    EventView,
    case_detail,
    case_get,
    case_list,
    case_rows,
    note_queryset,
    note_rows,
)
from haven.cases.services import (
    PersonInput,
    case_update,
    journey_advance,
    note_add,
    person_update,
)
from haven.vault.sealed import payload_read

TAGS = ["cases"]


def case_item(case: Case, name: str = "", name_romanized: str = "") -> dict[str, Any]:
    """A case's plain columns (and its decrypted names, when given) as the API shows them."""
    return {
        "id": case.pk,
        "name": name,
        "name_romanized": name_romanized,
        "state": case.state,
        "urgency": case.urgency,
        "country": case.country,
        "owner": case.owner_id,
        "team": case.team_id,
        "group": case.group_id,
        "request": case.request_id,
        "opened_at": case.opened_at,
        "state_changed_at": case.state_changed_at,
        "next_contact_due": case.next_contact_due,
        "updated_at": case.updated_at,
        "version": case.version,
    }


def event_item(event: JourneyEvent, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event.pk,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "recorded_by": event.recorded_by_id,
        "country": event.country,
        "source": event.source,
        "confidence": event.confidence,
        "region": data.get("region", ""),
        "place": data.get("place", ""),
        "note": data.get("note", ""),
    }


def note_item(note: Note, text: str) -> dict[str, Any]:
    return {"id": note.pk, "author": note.author_id, "created_at": note.created_at, "text": text}


def detail_out(detail: CaseDetail) -> dict[str, Any]:
    case, person = detail.case, detail.person
    birth = person.get("birth") or {}
    return {
        **case_item(
            case,
            name=person.get("name_hangul")
            or person.get("name_romanized")
            or (person.get("aliases") or [""])[0],
            name_romanized=person.get("name_romanized", ""),
        ),
        "returns_to": case.returns_to,
        "own_words": detail.data.get("own_words", ""),
        "summary": detail.data.get("summary", ""),
        "exact_place": detail.data.get("exact_place", ""),
        "person": {
            "version": case.person.version,
            "name_hangul": person.get("name_hangul", ""),
            "name_romanized": person.get("name_romanized", ""),
            "aliases": person.get("aliases", []),
            "sex": person.get("sex", "unknown"),
            "birth": {
                "value": birth.get("value", ""),
                "precision": birth.get("precision", "unknown"),
                **({"calendar": birth["calendar"]} if birth.get("calendar") else {}),
            },
            "origin_region": person.get("origin_region", ""),
            "occupation": person.get("occupation", "unknown"),
            "family": person.get("family", []),
        },
        "events": [_event_view(e) for e in detail.events],
        "notes": [note_item(n["note"], n["text"]) for n in detail.notes],
        "group_members": [
            {"id": r.case.pk, "name": r.name, "state": r.case.state, "version": r.case.version}
            for r in detail.group_members
        ],
        "allowed_transitions": [str(t) for t in detail.allowed_moves],
    }


def _event_view(view: EventView) -> dict[str, Any]:
    return event_item(view.event, {"region": view.region, "place": view.place, "note": view.note})


def _owner(data: dict[str, Any]) -> User | None | str:
    """The case_update owner argument: "" leaves it, None clears it, a user assigns."""
    if "owner" not in data:
        return ""
    if data["owner"] is None:
        return None
    return lookup(User.objects.filter(is_active=True), data["owner"], field="owner", label="user")


class CaseListApi(HavenApi):
    """The cases you may see, most urgent first, with names decrypted for the page only."""

    FilterSerializer = s.CaseFilterSerializer
    OutputSerializer = s.CaseListItemOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="List cases",
        operation_id="cases_list",
        parameters=[s.CaseFilterSerializer],
        responses=responses(s.CasePageSerializer, write=False, query=True),
    )
    def get(self, request: Request) -> Response:
        user = actor(request)
        require_case_reader(user)
        filters = query(self.FilterSerializer, request)
        qs = case_list(
            user=user,
            state=filters.get("state"),
            urgency=filters.get("urgency"),
            owner_id=filters.get("owner"),
            country=filters.get("country"),
            overdue=filters.get("overdue", False),
            active=filters.get("active"),
            group_id=filters.get("group"),
        )
        if filters.get("q"):
            qs = person_search(ctx=ctx(request), user=user, query=filters["q"], cases=qs)

        def render(chunk: list[Case]) -> list[dict[str, Any]]:
            rows = case_rows(ctx=ctx(request), user=user, cases=chunk)
            return [case_item(r.case, r.name, r.name_romanized) for r in rows]

        return page(request, self, qs, render, self.OutputSerializer)


class CaseDetailApi(HavenApi):
    """One case: person, journey, notes (the read is audited); change its handling."""

    InputSerializer = s.CaseUpdateInputSerializer
    OutputSerializer = s.CaseDetailOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="Read a case",
        responses=responses(s.CaseDetailOutputSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        detail = case_detail(ctx=ctx(request), user=user, case_id=pk)
        return Response(self.OutputSerializer(detail_out(detail)).data)

    @extend_schema(
        tags=TAGS,
        summary="Update a case",
        description="Urgency, owner, next contact, own words, summary. Fields left out are "
        "unchanged; `null` clears `owner` or `next_contact_due`.",
        request=s.CaseUpdateInputSerializer,
        responses=versioned(s.CaseDetailOutputSerializer),
    )
    def patch(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        case = case_get(user=user, case_id=pk)
        data = validated(self.InputSerializer, request.data)
        case_update(
            ctx=ctx(request),
            actor=user,
            case=case,
            expected_version=data["version"],
            urgency=data.get("urgency"),
            next_contact_due=data.get("next_contact_due", ""),
            owner=_owner(data),
            own_words=data.get("own_words"),
            summary=data.get("summary"),
        )
        detail = case_detail(ctx=ctx(request), user=user, case_id=pk)
        return Response(self.OutputSerializer(detail_out(detail)).data)


class CasePersonApi(HavenApi):
    """Replace the identifying details of the person a case is about."""

    InputSerializer = s.PersonUpdateInputSerializer

    @extend_schema(
        tags=TAGS,
        summary="Replace the person's details",
        description="`version` is the person's version (`person.version` on the case).",
        request=s.PersonUpdateInputSerializer,
        responses=versioned(s.CaseDetailOutputSerializer),
    )
    def put(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        case = case_get(user=user, case_id=pk)
        data = validated(self.InputSerializer, request.data)
        version = data.pop("version")
        family = data.pop("family", None)
        person_update(
            ctx=ctx(request),
            actor=user,
            case=case,
            expected_version=version,
            person=PersonInput(**data),
            family=[dict(link) for link in family] if family is not None else None,
        )
        detail = case_detail(ctx=ctx(request), user=user, case_id=pk)
        return Response(s.CaseDetailOutputSerializer(detail_out(detail)).data)


class CaseTransitionApi(HavenApi):
    """Move a case along its journey and record the event."""

    InputSerializer = s.CaseTransitionInputSerializer
    OutputSerializer = s.CaseTransitionOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="Move a case",
        request=s.CaseTransitionInputSerializer,
        responses=versioned(s.CaseTransitionOutputSerializer, move=True),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        case = case_get(user=user, case_id=pk)
        data = validated(self.InputSerializer, request.data)
        event = journey_advance(
            ctx=ctx(request),
            actor=user,
            case=case,
            expected_version=data.pop("version"),
            **data,
        )
        out = {
            "case": {"id": case.pk, "state": case.state, "version": case.version},
            "event": event_item(event, payload_read(ctx=ctx(request), record=event)),
        }
        return Response(self.OutputSerializer(out).data)


class CaseAllowedTransitionsApi(HavenApi):
    """The states a case may move to now."""

    @extend_schema(
        tags=TAGS,
        summary="Allowed moves",
        responses=responses(s.AllowedTransitionsOutputSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        case = case_get(user=user, case_id=pk)
        allowed = allowed_targets(case.state, returns_to=case.returns_to or None)
        out = {
            "state": case.state,
            "returns_to": case.returns_to,
            "version": case.version,
            "allowed": [str(t) for t in allowed],
        }
        return Response(s.AllowedTransitionsOutputSerializer(out).data)


class CaseNotesApi(HavenApi):
    """A case's notes (decrypted for the page, audited), or add one."""

    InputSerializer = s.NoteCreateInputSerializer
    OutputSerializer = s.NoteOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="List notes",
        responses=responses(s.NotePageSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        notes = note_queryset(user=user, case_id=pk)

        def render(chunk: list[Note]) -> list[dict[str, Any]]:
            rows = note_rows(ctx=ctx(request), user=user, notes=chunk)
            return [note_item(r["note"], r["text"]) for r in rows]

        return page(request, self, notes, render, self.OutputSerializer)

    @extend_schema(
        tags=TAGS,
        summary="Add a note",
        request=s.NoteCreateInputSerializer,
        responses=responses(s.NoteOutputSerializer, status=201, read=True),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        case = case_get(user=user, case_id=pk)
        data = validated(self.InputSerializer, request.data)
        note = note_add(ctx=ctx(request), actor=user, case=case, text=data["text"])
        text = payload_read(ctx=ctx(request), record=note).get("text", "")
        return Response(self.OutputSerializer(note_item(note, text)).data, status=201)
