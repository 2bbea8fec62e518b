"""The press endpoints: cover records, statements (draft, submit, return, approve, release,
withdraw, the released text), and supervisors' cover values and openings on a case or a group.

A step the gate or the leak check refuses answers 409 ``blocked``: the words that matched for a
supervisor, only the count for the press office. A released statement that may not go out now
answers 409 ``withheld``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from haven import access
from haven.accounts.models import User
from haven.api import serializers_statements as s
from haven.api.serializers import ConflictErrorSerializer
from haven.api.views.base import HavenApi, actor, ctx, page, responses, validated, versioned
from haven.cases.models import Case, Group
from haven.cases.selectors import case_get, group_get
from haven.disclosure import facts, services
from haven.disclosure import selectors as sel
from haven.disclosure.models import Cover, Statement
from haven.vault.sealed import payload_read

TAGS = ["statements"]
COVER_TAGS = ["cover records"]

_BLOCKED = OpenApiResponse(
    PolymorphicProxySerializer(
        component_name="StatementConflict",
        serializers=[ConflictErrorSerializer, s.BlockedErrorSerializer],
        resource_type_field_name=None,
    ),
    description="Blocked by the gate or the leak check (code `blocked`), or the version is "
    "stale (code `conflict`); nothing changed.",
)
_WITHHELD = OpenApiResponse(
    s.WithheldErrorSerializer,
    description="Not released, withdrawn, or someone it speaks about is not safe now.",
)


def _blocked(user: User, blocked: services.StatementBlockedError) -> Response:
    approver = access.allowed(user, "statement.approve")
    return Response(
        {
            "code": "blocked",
            "detail": blocked.messages[0],
            "reason": blocked.reason,
            "closed": blocked.closed,
            "missing": blocked.missing,
            "hit_count": len(blocked.hits),
            "hits": [
                {
                    "field": h.field,
                    "label": h.label,
                    "check": h.source,
                    "language": h.language,
                    "start": h.start,
                    "end": h.end,
                    "phrase": h.phrase,
                }
                for h in blocked.hits
            ]
            if approver
            else [],
        },
        status=409,
    )


def _withheld(error: Exception) -> Response:
    return Response({"code": "withheld", "detail": str(error)}, status=409)


# --- statements ------------------------------------------------------------------------------------


def _item(statement: Statement, title: str, is_open: bool) -> dict[str, Any]:
    return {
        "id": statement.pk,
        "title": title,
        "status": statement.status,
        "open": is_open,
        "author": statement.author_id,
        "updated_at": statement.updated_at,
        "released_at": statement.released_at,
        "version": statement.version,
    }


def _detail(request: Request, statement: Statement) -> dict[str, Any]:
    view = sel.statement_view(ctx=ctx(request), user=actor(request), statement=statement)
    released = None
    if view.released is not None:
        released = {
            "title": view.released["title"],
            "texts": view.released["texts"],
            "released_at": view.released["at"],
        }
    covers = {sv.handle: sv for sv in view.subjects}
    data = payload_read(ctx=ctx(request), record=statement)
    chosen = data.get("subjects") or {}
    return {
        **_item(statement, view.title, all(sv.open for sv in view.subjects)),
        "texts": view.texts,
        "subjects": [
            {
                "handle": handle,
                "cover": chosen.get(handle) if covers[handle].exists else None,
                "label": covers[handle].label,
                "kind": covers[handle].kind,
                "open": covers[handle].open,
                "exists": covers[handle].exists,
            }
            for handle in covers
        ],
        "preview": view.preview.texts,
        "missing": view.preview.missing,
        "withheld_subjects": view.preview.withheld,
        "review_note": view.review.get("note", ""),
        "approved_by": statement.approved_by_id,
        "approved_at": statement.approved_at,
        "released": released,
        "withheld": view.withheld,
        "withdrawn_reason": view.withdrawn.get("reason", ""),
    }


class StatementListApi(HavenApi):
    """Statements (press officers and supervisors); draft one (press officers)."""

    InputSerializer = s.StatementInputSerializer

    @extend_schema(
        tags=TAGS,
        summary="List statements",
        operation_id="statements_list",
        responses=responses(s.StatementPageSerializer, write=False),
    )
    def get(self, request: Request) -> Response:
        user = actor(request)
        statements = sel.statement_list(user=user)

        def render(chunk: list[Statement]) -> list[dict[str, Any]]:
            rows = sel.statement_rows(ctx=ctx(request), user=user, statements=chunk)
            return [_item(r.statement, r.title, r.open) for r in rows]

        return page(request, self, statements, render, s.StatementListItemSerializer)

    @extend_schema(
        tags=TAGS,
        summary="Draft a statement",
        description="Facts about a subject are written as references ([[A.origin]]), filled "
        "with its cover values when rendered. Unknown subjects or facts, markup and "
        "invisible characters are refused (400) and nothing is stored.",
        request=s.StatementInputSerializer,
        responses=responses(s.StatementDetailSerializer, status=201),
    )
    def post(self, request: Request) -> Response:
        user = actor(request)
        if not access.allowed(user, "statement.write"):
            raise PermissionDenied("Only press officers write statements.")
        data = validated(self.InputSerializer, request.data)
        statement = services.statement_create(
            ctx=ctx(request),
            actor=user,
            title=data["title"],
            texts=dict(data["texts"]),
            subjects={k: str(v) for k, v in data["subjects"].items()},
        )
        return Response(s.StatementDetailSerializer(_detail(request, statement)).data, status=201)


class StatementDetailApi(HavenApi):
    """One statement: as written, its subjects, the preview, what was released (the read is
    audited); change a draft."""

    InputSerializer = s.StatementUpdateInputSerializer

    @extend_schema(
        tags=TAGS,
        summary="Read a statement",
        responses=responses(s.StatementDetailSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        statement = sel.statement_get(user=actor(request), statement_id=pk)
        return Response(s.StatementDetailSerializer(_detail(request, statement)).data)

    @extend_schema(
        tags=TAGS,
        summary="Change a statement",
        description="A draft, a statement waiting for approval, or an approved one (which goes "
        "back to draft: its approval is void).",
        request=s.StatementUpdateInputSerializer,
        responses=versioned(s.StatementDetailSerializer),
    )
    def put(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        statement = sel.statement_get(user=user, statement_id=pk)
        if not access.allowed(user, "statement.write"):
            raise PermissionDenied("Only press officers write statements.")
        data = validated(self.InputSerializer, request.data)
        services.statement_update(
            ctx=ctx(request),
            actor=user,
            statement=statement,
            expected_version=data["version"],
            title=data["title"],
            texts=dict(data["texts"]),
            subjects={k: str(v) for k, v in data["subjects"].items()},
        )
        statement.refresh_from_db()
        return Response(s.StatementDetailSerializer(_detail(request, statement)).data)


class _StatementStepApi(HavenApi):
    InputSerializer: type[s.StrictSerializer] = s.StatementVersionInputSerializer

    def step(self, request: Request, statement: Statement, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        statement = sel.statement_get(user=user, statement_id=pk)
        data = validated(self.InputSerializer, request.data)
        try:
            self.step(request, statement, data)
        except services.StatementBlockedError as blocked:
            return _blocked(user, blocked)
        statement.refresh_from_db()
        return Response(s.StatementDetailSerializer(_detail(request, statement)).data)


def _step_schema(summary: str, request: Any, *, outward: bool = False, **kwargs: Any) -> Any:
    answers = versioned(s.StatementDetailSerializer)
    if outward:
        answers[409] = _BLOCKED
    return extend_schema(tags=TAGS, summary=summary, request=request, responses=answers, **kwargs)


class StatementSubmitApi(_StatementStepApi):
    """Ask for approval (the author's press office)."""

    @_step_schema("Submit a statement for approval", s.StatementVersionInputSerializer)
    def post(self, request: Request, pk: UUID) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, statement: Statement, data: dict[str, Any]) -> None:
        services.statement_submit(
            ctx=ctx(request),
            actor=actor(request),
            statement=statement,
            expected_version=data["version"],
        )


class StatementReturnApi(_StatementStepApi):
    """A supervisor sends a statement back to its author with a note."""

    InputSerializer = s.StatementNoteInputSerializer

    @_step_schema("Send a statement back", s.StatementNoteInputSerializer)
    def post(self, request: Request, pk: UUID) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, statement: Statement, data: dict[str, Any]) -> None:
        services.statement_return(
            ctx=ctx(request),
            actor=actor(request),
            statement=statement,
            expected_version=data["version"],
            note=data["note"],
        )


class StatementApproveApi(_StatementStepApi):
    """A supervisor who did not write it approves it: the gate and the leak check first."""

    InputSerializer = s.StatementApproveInputSerializer

    @_step_schema(
        "Approve a statement",
        s.StatementApproveInputSerializer,
        outward=True,
        description="Refused with 409 `blocked` when someone it speaks about is not safe, a "
        "reference has no value, or the leak check finds a true value or the name of someone "
        "not yet safe (the matches are listed).",
    )
    def post(self, request: Request, pk: UUID) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, statement: Statement, data: dict[str, Any]) -> None:
        services.statement_approve(
            ctx=ctx(request),
            actor=actor(request),
            statement=statement,
            expected_version=data["version"],
            cleared=list(data.get("cleared") or []),
            cleared_reason=data.get("cleared_reason", ""),
        )


class StatementReleaseApi(_StatementStepApi):
    """Release an approved statement: its text is frozen with the time."""

    @_step_schema(
        "Release a statement",
        s.StatementVersionInputSerializer,
        outward=True,
        description="The gate and the leak check run again; the text must be the one approved.",
    )
    def post(self, request: Request, pk: UUID) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, statement: Statement, data: dict[str, Any]) -> None:
        services.statement_release(
            ctx=ctx(request),
            actor=actor(request),
            statement=statement,
            expected_version=data["version"],
        )


class StatementWithdrawApi(_StatementStepApi):
    """Withdraw an approved or released statement, saying why."""

    InputSerializer = s.StatementReasonInputSerializer

    @_step_schema("Withdraw a statement", s.StatementReasonInputSerializer)
    def post(self, request: Request, pk: UUID) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, statement: Statement, data: dict[str, Any]) -> None:
        services.statement_withdraw(
            ctx=ctx(request),
            actor=actor(request),
            statement=statement,
            expected_version=data["version"],
            reason=data["reason"],
        )


class StatementTextApi(HavenApi):
    """The released text, re-checked now (the gate, and the fingerprints of true values)."""

    @extend_schema(
        tags=TAGS,
        summary="The released text",
        responses={**responses(s.ReleasedOutputSerializer, read=True, write=False), 409: _WITHHELD},
    )
    def get(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        statement = sel.statement_get(user=user, statement_id=pk)
        try:
            out = sel.statement_output(ctx=ctx(request), user=user, statement=statement, form="api")
        except sel.StatementWithheldError as exc:
            return _withheld(exc)
        return Response(
            s.ReleasedOutputSerializer(
                {"title": out["title"], "texts": out["texts"], "released_at": out["at"]}
            ).data
        )


# --- cover records -----------------------------------------------------------------------------------


def _cover_out(row: sel.CoverRow) -> dict[str, Any]:
    return {
        "id": row.cover.pk,
        "label": row.label,
        "kind": row.kind,
        "open": row.open,
        "fields": row.fields,
        "version": row.cover.version,
    }


class CoverListApi(HavenApi):
    """Cover records: labels and safe-state flags; the values of those safe to speak about."""

    @extend_schema(
        tags=COVER_TAGS,
        summary="List cover records",
        operation_id="covers_list",
        responses=responses(s.CoverPageSerializer, write=False),
    )
    def get(self, request: Request) -> Response:
        user = actor(request)

        def render(chunk: list[Cover]) -> list[dict[str, Any]]:
            return [
                _cover_out(r) for r in sel.cover_rows(ctx=ctx(request), user=user, covers=chunk)
            ]

        return page(request, self, sel.cover_list(user=user), render, s.CoverOutputSerializer)


class CoverDetailApi(HavenApi):
    """One cover record (values only while everyone it speaks about is safe, but to supervisors)."""

    @extend_schema(
        tags=COVER_TAGS,
        summary="Read a cover record",
        responses=responses(s.CoverDetailOutputSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        cover = sel.cover_get(user=user, cover_id=pk)
        row = sel.cover_rows(ctx=ctx(request), user=user, covers=[cover])[0]
        return Response(s.CoverDetailOutputSerializer(_cover_out(row)).data)


def _inputs(fields: dict[str, Any]) -> dict[str, services.CoverInput]:
    return {
        name: services.CoverInput(
            mode=entry.get("mode", ""),
            values={k: v for k, v in (entry.get("values") or {}).items() if v},
            reason=entry.get("reason", ""),
        )
        for name, entry in fields.items()
        if name in facts.FIELDS
    }


class _OwnCoverApi(HavenApi):
    """Cover values of a case or a group, set by a supervisor holding every case in scope."""

    def owner(self, request: Request, pk: UUID) -> tuple[Case | None, Group | None]:
        raise NotImplementedError

    def _require(self, request: Request) -> None:
        if not access.allowed(actor(request), "cover.write"):
            raise PermissionDenied("Only supervisors record cover values.")

    def _answer(self, request: Request, cover: Cover, status: int = 200) -> Response:
        row = sel.cover_rows(ctx=ctx(request), user=actor(request), covers=[cover])[0]
        return Response(s.CoverDetailOutputSerializer(_cover_out(row)).data, status=status)

    def get(self, request: Request, pk: UUID) -> Response:
        case, group = self.owner(request, pk)
        self._require(request)
        cover = sel.cover_of(user=actor(request), case=case, group=group)
        if cover is None:
            raise Http404("No cover values recorded yet.")
        return self._answer(request, cover)

    def post(self, request: Request, pk: UUID) -> Response:
        case, group = self.owner(request, pk)
        self._require(request)
        data = validated(s.CoverInputSerializer, request.data)
        cover = services.cover_set(
            ctx=ctx(request),
            actor=actor(request),
            case=case,
            group=group,
            label=data["label"],
            fields=_inputs(dict(data["fields"])),
        )
        return self._answer(request, cover, status=201)

    def put(self, request: Request, pk: UUID) -> Response:
        case, group = self.owner(request, pk)
        self._require(request)
        data = validated(s.CoverUpdateInputSerializer, request.data)
        cover = services.cover_set(
            ctx=ctx(request),
            actor=actor(request),
            case=case,
            group=group,
            label=data["label"],
            fields=_inputs(dict(data["fields"])),
            expected_version=data["version"],
        )
        return self._answer(request, cover)


_CREATED = {
    **responses(s.CoverDetailOutputSerializer, status=201, read=True),
    409: versioned(s.CoverDetailOutputSerializer)[409],
}
_COVER_READ = responses(s.CoverDetailOutputSerializer, read=True, write=False)


class CaseCoverApi(_OwnCoverApi):
    """A person's cover values (supervisors)."""

    def owner(self, request: Request, pk: UUID) -> tuple[Case | None, Group | None]:
        return case_get(user=actor(request), case_id=pk), None

    @extend_schema(tags=COVER_TAGS, summary="A case's cover values", responses=_COVER_READ)
    def get(self, request: Request, pk: UUID) -> Response:
        return super().get(request, pk)

    @extend_schema(
        tags=COVER_TAGS,
        summary="Record a case's cover values",
        request=s.CoverInputSerializer,
        responses=_CREATED,
    )
    def post(self, request: Request, pk: UUID) -> Response:
        return super().post(request, pk)

    @extend_schema(
        tags=COVER_TAGS,
        summary="Replace a case's cover values",
        request=s.CoverUpdateInputSerializer,
        responses=versioned(s.CoverDetailOutputSerializer),
    )
    def put(self, request: Request, pk: UUID) -> Response:
        return super().put(request, pk)


class GroupCoverApi(_OwnCoverApi):
    """A group's cover values (supervisors holding every member)."""

    def owner(self, request: Request, pk: UUID) -> tuple[Case | None, Group | None]:
        return None, group_get(user=actor(request), group_id=pk)

    @extend_schema(tags=COVER_TAGS, summary="A group's cover values", responses=_COVER_READ)
    def get(self, request: Request, pk: UUID) -> Response:
        return super().get(request, pk)

    @extend_schema(
        tags=COVER_TAGS,
        summary="Record a group's cover values",
        request=s.CoverInputSerializer,
        responses=_CREATED,
    )
    def post(self, request: Request, pk: UUID) -> Response:
        return super().post(request, pk)

    @extend_schema(
        tags=COVER_TAGS,
        summary="Replace a group's cover values",
        request=s.CoverUpdateInputSerializer,
        responses=versioned(s.CoverDetailOutputSerializer),
    )
    def put(self, request: Request, pk: UUID) -> Response:
        return super().put(request, pk)


class CaseOpeningApi(HavenApi):
    """Let statements speak about a person in a side exit, with a reason; or close it again."""

    InputSerializer = s.OpeningInputSerializer

    def _case(self, request: Request, pk: UUID) -> Case:
        case = case_get(user=actor(request), case_id=pk)
        if not access.allowed(actor(request), "disclosure.open"):
            raise PermissionDenied("Only supervisors open a person for statements.")
        return case

    @extend_schema(
        tags=COVER_TAGS,
        summary="Open a person in a side exit",
        request=s.OpeningInputSerializer,
        responses=responses(s.OpeningOutputSerializer, read=True),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        case = self._case(request, pk)
        data = validated(self.InputSerializer, request.data)
        services.opening_set(
            ctx=ctx(request), actor=actor(request), case=case, reason=data["reason"]
        )
        case.refresh_from_db()
        opened = sel.opening_of(ctx=ctx(request), user=actor(request), case=case) or {}
        return Response(
            s.OpeningOutputSerializer(
                {**opened, "opened_by": getattr(opened.get("opened_by"), "pk", None)}
            ).data
        )

    @extend_schema(
        tags=COVER_TAGS,
        summary="Close an opened person again",
        request=None,
        responses=responses(None, status=204, read=True),
    )
    def delete(self, request: Request, pk: UUID) -> Response:
        case = self._case(request, pk)
        services.opening_close(ctx=ctx(request), actor=actor(request), case=case)
        return Response(status=204)
