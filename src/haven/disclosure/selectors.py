"""Reads of the disclosure app: cover records as the press office may see them (cover values of
subjects the gate lets through, safe-state flags, labels), statements as written and as rendered,
and one clean read of a cover value for other outward features (statistics).

Everything that shows a value about a person asks the gate first; reads of sealed content are
audited like every other read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.cases.models import Case, Group
from haven.crypto import KeyContext
from haven.disclosure import facts
from haven.disclosure.gate import gate
from haven.disclosure.models import Cover, Opening, Statement, StatementStatus
from haven.disclosure.rendering import Rendered
from haven.disclosure.services import (
    StatementBlockedError,
    Subjects,
    _press_check,
    statement_rendered,
    subjects_resolve,
)
from haven.vault.sealed import payload_read


class StatementWithheldError(Exception):
    """A statement that may not be shown outward now (not released, withdrawn, or someone it
    speaks about is no longer safe). The message says which, never about whom."""


def _require(user: User, action: str) -> None:
    if not access.allowed(user, action):
        raise PermissionDenied("Your role cannot see this.")


# --- Cover records ------------------------------------------------------------------------------


def cover_list(*, user: User) -> QuerySet[Cover]:
    """Every cover record (what supervisors made available to the press office)."""
    _require(user, "cover.read")
    return Cover.objects.all().order_by("-updated_at", "id")


def cover_get(*, user: User, cover_id: Any) -> Cover:
    _require(user, "cover.read")
    try:
        return Cover.objects.get(pk=cover_id)
    except (Cover.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such cover record.") from exc


@dataclass
class CoverRow:
    """A cover record as the reader may see it. ``open``: the gate lets it be spoken about;
    ``fields`` (field -> mode and values) only then, or for a supervisor."""

    cover: Cover
    label: str
    kind: str
    open: bool
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def field_rows(self) -> list[tuple[str, Any, dict[str, Any]]]:
        return [
            (name, spec.label, self.fields[name])
            for name, spec in facts.FIELDS.items()
            if name in self.fields
        ]


def _shown_fields(data: dict[str, Any], *, supervisor: bool) -> dict[str, dict[str, Any]]:
    shown = {}
    for name, entry in (data.get("fields") or {}).items():
        values = dict(entry.get("values") or {})
        item = {
            "mode": entry.get("mode", ""),
            "values": {lang: values.get(lang, "") for lang in facts.LANGUAGES},
            "shown": facts.value_in(values, "en"),
        }
        if supervisor:
            item["reason"] = entry.get("reason", "")
        shown[name] = item
    return shown


def cover_rows(*, ctx: KeyContext, user: User, covers: list[Cover]) -> list[CoverRow]:
    """Labels and safe-state flags of these cover records, and their values where the gate lets
    them through (a supervisor sees every value, with the reasons). One audited read."""
    _require(user, "cover.read")
    supervisor = access.allowed(user, "cover.write")
    result = gate(covers)
    rows = []
    for cover in covers:
        data = payload_read(ctx=ctx, record=cover)
        is_open = result.is_open(cover.pk)
        rows.append(
            CoverRow(
                cover=cover,
                label=str(data.get("label", "")),
                kind="case" if cover.case_id else "group",
                open=is_open,
                fields=_shown_fields(data, supervisor=supervisor) if is_open or supervisor else {},
            )
        )
    if rows:
        audit_record(
            actor=user, action="cover.list", detail={"covers": [str(c.pk) for c in covers]}
        )
    return rows


def cover_of(*, user: User, case: Case | None = None, group: Group | None = None) -> Cover | None:
    """The cover record of a case or a group, if a supervisor made one (supervisors only)."""
    _require(user, "cover.write")
    if case is not None:
        return Cover.objects.filter(case=case).first()
    return Cover.objects.filter(group=group).first() if group is not None else None


def cover_value(
    *,
    ctx: KeyContext,
    field_name: str,
    case: Case | None = None,
    group: Group | None = None,
    language: str = "en",
) -> str | None:
    """The public value of one field for a case or a group, for any outward feature (statistics
    among them): the cover value or the true value a supervisor marked publishable, in
    ``language`` (or the first language that has one). None when there is no cover record, the
    field has no value, or the gate keeps the case or group closed. Needs a context holding the
    press office's key."""
    if field_name not in facts.FIELDS:
        raise ValueError(f"unknown outward field {field_name!r}")
    if (case is None) == (group is None):
        raise ValueError("ask about one case or one group")
    cover = (
        Cover.objects.filter(case=case).first()
        if case is not None
        else Cover.objects.filter(group=group).first()
    )
    if cover is None or not gate([cover]).is_open(cover.pk):
        return None
    entry = (payload_read(ctx=ctx, record=cover).get("fields") or {}).get(field_name)
    if not entry:
        return None
    return facts.value_in(entry.get("values") or {}, language) or None


def opening_of(*, ctx: KeyContext, user: User, case: Case) -> dict[str, Any] | None:
    """Whether a supervisor opened this person, in which state, and why (supervisors only)."""
    _require(user, "disclosure.open")
    opening = Opening.objects.filter(case=case).first()
    if opening is None:
        return None
    return {
        "state": opening.state,
        "opened_at": opening.opened_at,
        "opened_by": opening.opened_by,
        "reason": payload_read(ctx=ctx, record=opening).get("reason", ""),
        "holds": case.state == opening.state,
    }


# --- Statements ----------------------------------------------------------------------------------


def statement_list(*, user: User) -> QuerySet[Statement]:
    _require(user, "statement.read")
    return Statement.objects.select_related("author").order_by("-updated_at", "id")


def statement_get(*, user: User, statement_id: Any) -> Statement:
    _require(user, "statement.read")
    try:
        return Statement.objects.select_related("author", "approved_by", "released_by").get(
            pk=statement_id
        )
    except (Statement.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such statement.") from exc


@dataclass
class StatementRow:
    statement: Statement
    title: str
    open: bool


def statement_rows(
    *, ctx: KeyContext, user: User, statements: list[Statement]
) -> list[StatementRow]:
    """Titles of one page of statements, and whether each may be spoken now (the gate)."""
    _require(user, "statement.read")
    rows = []
    for statement in statements:
        data = payload_read(ctx=ctx, record=statement)
        subjects = subjects_resolve(ctx=ctx, data=data)
        rows.append(
            StatementRow(
                statement=statement,
                title=str(data.get("title", "")),
                open=not subjects.closed(),
            )
        )
    if rows:
        audit_record(
            actor=user,
            action="statement.list",
            detail={"statements": [str(s.pk) for s in statements]},
        )
    return rows


@dataclass
class SubjectView:
    handle: str
    label: str
    kind: str
    open: bool
    exists: bool


@dataclass
class StatementView:
    """A statement as its page shows it: as written, its subjects (labels and safe-state flags),
    the preview (closed subjects withheld), and what was released if the gate still allows."""

    statement: Statement
    title: str
    texts: dict[str, str]
    subjects: list[SubjectView]
    preview: Rendered
    review: dict[str, Any]
    approval: dict[str, Any]
    released: dict[str, Any] | None
    withheld: str
    withdrawn: dict[str, Any]


def statement_view(*, ctx: KeyContext, user: User, statement: Statement) -> StatementView:
    """Everything the statement's page shows (audited as a read)."""
    _require(user, "statement.read")
    data = payload_read(ctx=ctx, record=statement)
    subjects = subjects_resolve(ctx=ctx, data=data)
    views = []
    for handle in data.get("subjects") or {}:
        cover = subjects.covers.get(handle)
        if cover is None:
            views.append(SubjectView(handle=handle, label="", kind="", open=False, exists=False))
            continue
        views.append(
            SubjectView(
                handle=handle,
                label=str(subjects.payloads[handle].get("label", "")),
                kind="case" if cover.case_id else "group",
                open=subjects.gate.is_open(cover.pk),
                exists=True,
            )
        )
    released, withheld = None, ""
    if statement.status == StatementStatus.RELEASED:
        try:
            released = _released_checked(ctx=ctx, data=data, subjects=subjects)
        except StatementWithheldError as exc:
            withheld = str(exc)
    audit_record(actor=user, action="statement.read", target=statement, detail={})
    return StatementView(
        statement=statement,
        title=str(data.get("title", "")),
        texts=dict(data.get("texts") or {}),
        subjects=views,
        preview=statement_rendered(data, subjects),
        review=dict(data.get("review") or {}),
        approval=_approval_shown(data, supervisor=access.allowed(user, "statement.approve")),
        released=released,
        withheld=withheld,
        withdrawn=dict(data.get("withdrawn") or {}),
    )


def _approval_shown(data: dict[str, Any], *, supervisor: bool) -> dict[str, Any]:
    """When and by whom; the words a supervisor cleared (matches with someone not yet safe) only
    to supervisors: to the press office they would confirm a guessed name."""
    approval = data.get("approval") or {}
    keep = ("at", "by", "cleared", "cleared_reason") if supervisor else ("at", "by")
    return {k: approval[k] for k in keep if k in approval}


def _released_checked(
    *, ctx: KeyContext, data: dict[str, Any], subjects: Subjects
) -> dict[str, Any]:
    """The frozen text, if the gate still lets every subject through and the fingerprints of the
    true values (as supervisors last refreshed them) are not in it."""
    released = data.get("released") or {}
    if subjects.closed():
        raise StatementWithheldError(
            "Withheld: someone this statement speaks about is not safe to speak about at the "
            "moment (or their record is gone). It is shown again when it is safe."
        )
    texts = {"title": released.get("title", ""), **(released.get("texts") or {})}
    frozen = Rendered(texts=texts)
    if _press_check(ctx=ctx, rendered=frozen, subjects=subjects):
        raise StatementWithheldError(
            "Withheld: the leak check now finds a true value in it (a record changed). "
            "A supervisor should look at it."
        )
    return {"title": texts["title"], "texts": released.get("texts") or {}, "at": released.get("at")}


def statement_output(
    *, ctx: KeyContext, user: User, statement: Statement, form: str
) -> dict[str, Any]:
    """The released text for the outside (plain text, print, PDF, the API), re-checked now: the
    gate, and the fingerprints. Raises :class:`StatementWithheldError` when it may not go out."""
    _require(user, "statement.read")
    if statement.status == StatementStatus.WITHDRAWN:
        raise StatementWithheldError("This statement was withdrawn.")
    if statement.status != StatementStatus.RELEASED:
        raise StatementWithheldError("Only a released statement goes out.")
    data = payload_read(ctx=ctx, record=statement)
    subjects = subjects_resolve(ctx=ctx, data=data)
    released = _released_checked(ctx=ctx, data=data, subjects=subjects)
    audit_record(actor=user, action="statement.export", target=statement, detail={"form": form})
    return released


__all__ = [
    "StatementBlockedError",
    "StatementWithheldError",
    "cover_get",
    "cover_list",
    "cover_of",
    "cover_rows",
    "cover_value",
    "opening_of",
    "statement_get",
    "statement_list",
    "statement_output",
    "statement_rows",
    "statement_view",
]
