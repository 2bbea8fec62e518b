"""The press pages: cover records, statements (draft, approval, release, withdrawal) and their
outward forms (plain text, print-ready, PDF); supervisors' cover values and openings on a case.

Every page that shows something about a person goes through the gate (in the selectors and
services); a step the gate or the leak check refuses shows why — the matches to a supervisor,
only that it was blocked to the press office.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from haven import access
from haven.cases import selectors as case_selectors
from haven.disclosure import facts, rendering, services
from haven.disclosure import selectors as s
from haven.disclosure.models import Statement
from haven.errors import ConflictError
from haven.vault.sealed import payload_read
from haven.web import disclosure_forms as df
from haven.web import forms as f
from haven.web.views.common import CONFLICT_MESSAGE, actor, ctx, paginate

FACT_ROWS = [(name, spec.label) for name, spec in facts.FIELDS.items()]


def _require(request: HttpRequest, action: str) -> None:
    if not access.allowed(actor(request), action):
        raise PermissionDenied(_("Your role cannot do this."))


# --- Cover records (the press office's list) ------------------------------------------------


@login_required
def cover_list(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    page = paginate(request, s.cover_list(user=user))
    rows = s.cover_rows(ctx=ctx(request), user=user, covers=list(page.object_list))
    return render(request, "web/disclosure/cover_list.html", {"page": page, "rows": rows})


@login_required
def cover_detail(request: HttpRequest, cover_id: Any) -> HttpResponse:
    user = actor(request)
    cover = s.cover_get(user=user, cover_id=cover_id)
    row = s.cover_rows(ctx=ctx(request), user=user, covers=[cover])[0]
    edit_case = None
    if access.allowed(user, "cover.write"):
        case = cover.case or (cover.group.cases.first() if cover.group else None)
        if case is not None and access.can_view_case(user, case):
            edit_case = case
    return render(
        request,
        "web/disclosure/cover_detail.html",
        {"row": row, "edit_case": edit_case, "languages": facts.LANGUAGES},
    )


# --- Cover values and openings (supervisors, from a case) -----------------------------------------


def _cover_page(request: HttpRequest, case_id: Any, *, of_group: bool) -> HttpResponse:
    user = actor(request)
    case = case_selectors.case_get(user=user, case_id=case_id)
    _require(request, "cover.write")
    group = case.group if of_group else None
    if of_group and group is None:
        raise Http404(_("This case has no group."))
    existing = s.cover_of(user=user, case=None if of_group else case, group=group)
    initial: dict[str, Any] = {}
    if existing is not None:
        data = payload_read(ctx=ctx(request), record=existing)
        initial = df.CoverForm.initial_from(
            data.get("label", ""), data.get("fields") or {}, existing.version
        )
    form = df.CoverForm(request.POST or None, initial=initial, is_group=of_group)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.cover_set(
                    ctx=ctx(request),
                    actor=user,
                    case=None if of_group else case,
                    group=group,
                    label=form.cleaned_data["label"],
                    fields=form.inputs(),
                    expected_version=form.cleaned_data.get("version"),
                )
            except ConflictError:
                form.add_error(None, CONFLICT_MESSAGE)
            except ValidationError as exc:
                f.add_service_errors(form, exc, rename=_cover_error_names())
            else:
                messages.success(request, _("The cover values were saved."))
                return redirect("web:case", case_id=case.pk)
        status = 400
    opening = s.opening_of(ctx=ctx(request), user=user, case=case) if not of_group else None
    return render(
        request,
        "web/disclosure/cover_form.html",
        {
            "case": case,
            "of_group": of_group,
            "form": form,
            "existing": existing,
            "opening": opening,
            "opening_form": df.OpeningForm(),
            "side_exit": case.state in services.SIDE_EXITS,
        },
        status=status,
    )


def _cover_error_names() -> dict[str, str]:
    names = {}
    for name in facts.FIELDS:
        names[f"fields.{name}"] = f"{name}_mode"
        names[f"fields.{name}.reason"] = f"{name}_reason"
        for language in facts.LANGUAGES:
            names[f"fields.{name}.{language}"] = f"{name}_{language}"
    return names


@login_required
def case_cover(request: HttpRequest, case_id: Any) -> HttpResponse:
    return _cover_page(request, case_id, of_group=False)


@login_required
def group_cover(request: HttpRequest, case_id: Any) -> HttpResponse:
    return _cover_page(request, case_id, of_group=True)


@login_required
@require_POST
def case_opening(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    case = case_selectors.case_get(user=user, case_id=case_id)
    _require(request, "disclosure.open")
    form = df.OpeningForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form was incomplete; nothing was changed."))
        return redirect("web:case_cover", case_id=case.pk)
    try:
        if form.cleaned_data["close"]:
            services.opening_close(ctx=ctx(request), actor=user, case=case)
            messages.success(request, _("Statements about this person are withheld again."))
        else:
            services.opening_set(
                ctx=ctx(request), actor=user, case=case, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("Statements may speak about this person now."))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("web:case_cover", case_id=case.pk)


# --- Statements ----------------------------------------------------------------------------------


@login_required
def statement_list(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    page = paginate(request, s.statement_list(user=user))
    rows = s.statement_rows(ctx=ctx(request), user=user, statements=list(page.object_list))
    return render(
        request,
        "web/disclosure/statement_list.html",
        {"page": page, "rows": rows, "can_write": access.allowed(user, "statement.write")},
    )


def _cover_choices(request: HttpRequest) -> list[tuple[str, str]]:
    user = actor(request)
    covers = list(s.cover_list(user=user)[:200])
    rows = s.cover_rows(ctx=ctx(request), user=user, covers=covers)
    return [
        (
            str(row.cover.pk),
            f"{row.label} ({_('safe to speak about') if row.open else _('not yet safe')})",
        )
        for row in rows
    ]


def _statement_form_page(request: HttpRequest, statement: Statement | None = None) -> HttpResponse:
    user = actor(request)
    _require(request, "statement.write")
    initial: dict[str, Any] = {}
    if statement is not None:
        data = payload_read(ctx=ctx(request), record=statement)
        initial = {
            "title": data.get("title", ""),
            "version": statement.version,
            **{f"text_{k}": v for k, v in (data.get("texts") or {}).items()},
            **{f"subject_{k}": v for k, v in (data.get("subjects") or {}).items()},
        }
    form = df.StatementForm(request.POST or None, initial=initial, covers=_cover_choices(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            payload = form.payload()
            try:
                if statement is None:
                    made = services.statement_create(ctx=ctx(request), actor=user, **payload)
                else:
                    made = services.statement_update(
                        ctx=ctx(request),
                        actor=user,
                        statement=statement,
                        expected_version=form.cleaned_data.get("version") or 0,
                        **payload,
                    )
            except ConflictError:
                form.add_error(None, CONFLICT_MESSAGE)
            except ValidationError as exc:
                f.add_service_errors(
                    form,
                    exc,
                    rename={f"texts.{k}": f"text_{k}" for k in facts.LANGUAGES}
                    | {"texts": "text_en"},
                )
            else:
                messages.success(request, _("The statement was saved."))
                return redirect("web:statement", statement_id=made.pk)
        status = 400
    return render(
        request,
        "web/disclosure/statement_form.html",
        {"form": form, "statement": statement, "facts": FACT_ROWS},
        status=status,
    )


@login_required
def statement_new(request: HttpRequest) -> HttpResponse:
    return _statement_form_page(request)


@login_required
def statement_edit(request: HttpRequest, statement_id: Any) -> HttpResponse:
    statement = s.statement_get(user=actor(request), statement_id=statement_id)
    return _statement_form_page(request, statement)


def _detail(
    request: HttpRequest,
    statement: Statement,
    *,
    blocked: services.StatementBlockedError | None = None,
    status: int = 200,
) -> HttpResponse:
    user = actor(request)
    view = s.statement_view(ctx=ctx(request), user=user, statement=statement)
    approver = access.allowed(user, "statement.approve")
    return render(
        request,
        "web/disclosure/statement_detail.html",
        {
            "view": view,
            "statement": statement,
            "blocked": blocked,
            "hits": blocked.hits if blocked is not None and approver else [],
            "index_hits": [h for h in blocked.hits if h.source == "index"]
            if blocked is not None and approver
            else [],
            "is_author": statement.author_id == user.pk,
            "can_write": access.allowed(user, "statement.write"),
            "can_approve": approver and statement.author_id != user.pk,
            "can_release": access.allowed(user, "statement.release"),
            "can_withdraw": access.allowed(user, "statement.withdraw"),
            "languages": [(k, facts.LANGUAGE_NAMES[k]) for k in facts.LANGUAGES],
            "approve_form": df.ApproveForm(initial={"version": statement.version}),
            "note_form": df.NoteForm(initial={"version": statement.version}),
            "reason_form": df.ReasonForm(initial={"version": statement.version}),
        },
        status=status,
    )


@login_required
def statement_detail(request: HttpRequest, statement_id: Any) -> HttpResponse:
    statement = s.statement_get(user=actor(request), statement_id=statement_id)
    return _detail(request, statement)


STEPS = ("submit", "return", "approve", "release", "withdraw")


@login_required
@require_POST
def statement_action(request: HttpRequest, statement_id: Any, action: str) -> HttpResponse:
    user = actor(request)
    statement = s.statement_get(user=user, statement_id=statement_id)
    if action not in STEPS:
        messages.error(request, _("Unknown action."))
        return redirect("web:statement", statement_id=statement.pk)
    form: Any = {
        "return": df.NoteForm,
        "approve": df.ApproveForm,
        "withdraw": df.ReasonForm,
    }.get(action, f.VersionForm)(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form was incomplete; nothing was changed."))
        return redirect("web:statement", statement_id=statement.pk)
    version = form.cleaned_data["version"]
    common = {
        "ctx": ctx(request),
        "actor": user,
        "statement": statement,
        "expected_version": version,
    }
    try:
        if action == "submit":
            services.statement_submit(**common)
        elif action == "return":
            services.statement_return(**common, note=form.cleaned_data["note"])
        elif action == "approve":
            services.statement_approve(
                **common,
                cleared=request.POST.getlist("cleared"),
                cleared_reason=form.cleaned_data.get("cleared_reason", ""),
            )
        elif action == "release":
            services.statement_release(**common)
        else:
            services.statement_withdraw(**common, reason=form.cleaned_data["reason"])
    except services.StatementBlockedError as blocked:
        statement.refresh_from_db()
        return _detail(request, statement, blocked=blocked, status=409)
    except ConflictError:
        messages.error(
            request,
            _("Someone else changed this statement since you opened it; nothing was saved."),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Done."))
    return redirect("web:statement", statement_id=statement.pk)


# --- Outward forms of a released statement ----------------------------------------------------------


def _output(request: HttpRequest, statement_id: Any, form: str) -> tuple[Statement, dict[str, Any]]:
    user = actor(request)
    statement = s.statement_get(user=user, statement_id=statement_id)
    return statement, s.statement_output(
        ctx=ctx(request), user=user, statement=statement, form=form
    )


def _withheld(request: HttpRequest, statement_id: Any, error: Exception) -> HttpResponse:
    return render(
        request,
        "web/disclosure/withheld.html",
        {"statement_id": statement_id, "message": str(error)},
        status=409,
    )


@login_required
def statement_text(request: HttpRequest, statement_id: Any) -> HttpResponse:
    try:
        statement, out = _output(request, statement_id, "text")
    except s.StatementWithheldError as exc:
        return _withheld(request, statement_id, exc)
    body = rendering.plain_text(
        title=out["title"], texts=out["texts"], released_at=_released_line(out)
    )
    response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="statement-{statement.pk}.txt"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _released_line(out: dict[str, Any]) -> str:
    at = out.get("at") or ""
    return _("Released %(at)s") % {"at": at[:16].replace("T", " ")} if at else ""


@login_required
def statement_print(request: HttpRequest, statement_id: Any) -> HttpResponse:
    try:
        statement, out = _output(request, statement_id, "print")
    except s.StatementWithheldError as exc:
        return _withheld(request, statement_id, exc)
    texts = [
        (k, facts.LANGUAGE_NAMES[k], out["texts"][k])
        for k in facts.LANGUAGES
        if out["texts"].get(k)
    ]
    return render(
        request,
        "web/disclosure/statement_print.html",
        {
            "statement": statement,
            "title": out["title"],
            "texts": texts,
            "released": _released_line(out),
            "printed": timezone.now(),
        },
    )


@login_required
def statement_pdf(request: HttpRequest, statement_id: Any) -> HttpResponse:
    try:
        statement, out = _output(request, statement_id, "pdf")
    except s.StatementWithheldError as exc:
        return _withheld(request, statement_id, exc)
    language = next((k for k in facts.LANGUAGES if out["texts"].get(k)), "en")
    try:
        pdf = rendering.statement_pdf(
            title=out["title"],
            paragraphs=[
                _released_line(out),
                *[out["texts"][k] for k in facts.LANGUAGES if out["texts"].get(k)],
            ],
            language=language,
            marking=_("Released statement"),
        )
    except rendering.PdfUnavailableError as exc:
        messages.info(request, str(exc))
        return redirect("web:statement_print", statement_id=statement.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="statement-{statement.pk}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
