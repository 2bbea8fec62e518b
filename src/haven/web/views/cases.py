"""The case list and the case page: timeline, transition, notes, group moves, edits."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from haven import access
from haven.accounts.models import Role
from haven.attachments.selectors import attachment_rows
from haven.cases import selectors, services
from haven.cases.journey import TransitionError, allowed_targets
from haven.cases.search import (
    person_search,
    search_index_refresh,
    search_index_settle,
)
from haven.crypto import CryptoError
from haven.errors import ConflictError
from haven.once import FIELD as ONCE_FIELD
from haven.once import AlreadyStoredError, once_token_check
from haven.referrals.selectors import case_referrals
from haven.vault.holders import access_holders
from haven.vault.sealed import payload_read
from haven.web import forms as f
from haven.web.access_forms import GrantForm, grant_candidates
from haven.web.after import after_response
from haven.web.views import groups
from haven.web.views.common import (
    CONFLICT_MESSAGE,
    SENT_TWICE_MESSAGE,
    actor,
    ctx,
    paginate,
    query_without_page,
)


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    form = f.CaseFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "state": data["state"] or None,
            "urgency": data["urgency"],
            "country": data["country"] or None,
            "owner_id": data["owner"].pk if data["owner"] else None,
            "overdue": data["overdue"],
            "active": {"yes": True, "no": False}.get(data["active"]),
        }
    qs = selectors.case_list(user=user, **filters)
    count: int | None = None
    waiting = 0
    if form.is_bound and form.errors:
        qs = qs.none()  # a refused filter lists nothing rather than everything
    elif form.is_valid() and form.cleaned_data["q"]:
        try:
            waiting = search_index_settle(ctx=ctx(request), actor=user)
            qs = person_search(
                ctx=ctx(request), user=user, query=form.cleaned_data["q"], cases=qs, refresh=0
            )
            if waiting:
                key_ctx = ctx(request)
                after_response(request, lambda: search_index_refresh(ctx=key_ctx, actor=user))
        except ValidationError as exc:
            form.add_error(None, exc)  # the error dict is keyed "q"
            qs = qs.none()
        except PermissionDenied as exc:  # no all-staff key shared with them yet
            messages.error(request, str(exc))
            qs = qs.none()
    else:
        count = selectors.case_list_count(user=user, cases=qs, filters=filters)
    page = paginate(request, qs, count=count)
    rows = selectors.case_rows(ctx=ctx(request), user=user, cases=list(page.object_list))
    return render(
        request,
        "web/case_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "waiting": waiting,
        },
    )


def _with_version(form: forms.Form, version: int) -> QueryDict:
    data = form.data.copy()  # type: ignore[attr-defined]
    data["version"] = str(version)
    return data


def _case_page(
    request: HttpRequest,
    case_id: Any,
    *,
    transition: f.TransitionForm | None = None,
    note: f.NoteForm | None = None,
    group: f.GroupMoveForm | None = None,
    message_form: Any = None,
    status: int = 200,
) -> HttpResponse:
    from django.urls import reverse

    from haven.web.views.messages import conversation_context

    user = actor(request)
    detail = selectors.case_detail(ctx=ctx(request), user=user, case_id=case_id)
    case = detail.case
    if transition is None:
        transition = f.TransitionForm(
            initial={"version": case.version, "country": case.country},
            allowed=detail.allowed_moves,
        )
    if group is None and case.group_id is not None:
        # Ticked: the members asked for (kept after a move), else those where this case is.
        asked = set(request.GET.get("members", "").split(","))
        ticked = {str(m.case.pk) for m in detail.group_members if str(m.case.pk) in asked} or {
            str(m.case.pk) for m in detail.group_members if m.case.state == case.state
        }
        group = groups.move_form(detail.group_members, ticked=ticked)
    group_label = ""
    if case.group is not None:
        try:
            group_label = payload_read(ctx=ctx(request), record=case.group).get("label", "")
        except CryptoError:  # the group's key not held (only granted this member): unnamed
            group_label = ""
    referrals, consents = case_referrals(user=user, case=case)
    holders = access_holders(case.data_key_id)
    return render(
        request,
        "web/case_detail.html",
        {
            "detail": detail,
            "case": case,
            "transition": transition,
            "note_form": note or f.NoteForm(),
            "group_form": group,
            "group_label": group_label,
            "referrals": referrals,
            "consents": consents,
            "holders": holders,
            "grant_form": GrantForm(candidates=grant_candidates(holders=holders, actor=user)),
            "can_revoke": user.role == Role.SUPERVISOR,
            **conversation_context(
                key_ctx=ctx(request), user=user, record=case.request, form=message_form
            ),
            "message_action": reverse("web:case_message", args=[case.pk]),
            # The files of the request this case came from.
            "attachments": attachment_rows(ctx=ctx(request), user=user, request=case.request),
            "can_open_original": access.allowed(user, "attachment.original"),
            # Decisions about possible duplicates (linked, merged, not the same person).
            "duplicate_decisions": _case_decisions(user, case),
        },
        status=status,
    )


def _case_decisions(user: Any, case: Any) -> list[Any]:
    from haven.dedupe.selectors import case_decisions

    return case_decisions(user=user, case=case)


@login_required
def case_detail(request: HttpRequest, case_id: Any) -> HttpResponse:
    return _case_page(request, case_id)


@login_required
@require_POST
def case_move(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    case = selectors.case_get(user=user, case_id=case_id)
    allowed = allowed_targets(case.state, returns_to=case.returns_to or None)
    form = f.TransitionForm(request.POST, allowed=allowed)
    if request.POST.get("version", "").isdigit() and int(request.POST["version"]) != case.version:
        # Someone moved the case since this form was drawn: say so before anything else.
        form = f.TransitionForm(_with_version(form, case.version), allowed=allowed)
        form.is_valid()
        form.add_error(None, CONFLICT_MESSAGE)
        return _case_page(request, case_id, transition=form, status=409)
    if form.is_valid():
        try:
            services.journey_advance(
                ctx=ctx(request),
                actor=user,
                case=case,
                to_state=form.cleaned_data["to_state"],
                expected_version=form.cleaned_data["version"],
                **form.event_kwargs(),
            )
        except ConflictError:
            current = selectors.case_get(user=user, case_id=case_id)
            form = f.TransitionForm(
                _with_version(form, current.version),
                allowed=allowed_targets(current.state, returns_to=current.returns_to or None),
            )
            form.is_valid()
            form.add_error(None, CONFLICT_MESSAGE)
            return _case_page(request, case_id, transition=form, status=409)
        except TransitionError as exc:
            form.add_error("to_state", str(exc))
        except ValidationError as exc:
            f.add_service_errors(form, exc)
        else:
            messages.success(request, _("The journey step was recorded."))
            return redirect("web:case", case_id=case.pk)
    return _case_page(request, case_id, transition=form, status=400)


@login_required
@require_POST
def case_note(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    case = selectors.case_get(user=user, case_id=case_id)
    form = f.NoteForm(request.POST)
    if form.is_valid():
        try:
            services.note_add(
                ctx=ctx(request),
                actor=user,
                case=case,
                text=form.cleaned_data["text"],
                once=once_token_check(request.POST.get(ONCE_FIELD)),
            )
        except ValidationError as exc:
            f.add_service_errors(form, exc)
        except AlreadyStoredError:
            messages.info(request, SENT_TWICE_MESSAGE)
            return redirect("web:case", case_id=case.pk)
        else:
            messages.success(request, _("The note was added."))
            return redirect("web:case", case_id=case.pk)
    return _case_page(request, case_id, note=form, status=400)


@login_required
@require_POST
def case_group_move(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    detail = selectors.case_detail(ctx=ctx(request), user=user, case_id=case_id)
    if detail.case.group is None:
        messages.error(request, _("This case is not in a group."))
        return redirect("web:case", case_id=detail.case.pk)
    form, moved = groups.group_move_submit(request, detail.case.group, detail.group_members)
    if moved is not None:
        url = reverse("web:case", args=[detail.case.pk])
        return redirect(f"{url}?{urlencode({'members': ','.join(moved)})}#group")
    fresh = selectors.case_detail(ctx=ctx(request), user=user, case_id=case_id)
    ticked = {v.split(":", 1)[0] for v in request.POST.getlist("case_ids")}
    return _case_page(
        request,
        case_id,
        group=groups.relabelled(form, fresh.group_members, ticked),
        status=400,
    )


@login_required
def case_edit(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    detail = selectors.case_detail(ctx=ctx(request), user=user, case_id=case_id)
    case = detail.case
    status = 200
    if request.method == "POST":
        form = f.CaseEditForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.case_update(
                    ctx=ctx(request),
                    actor=user,
                    case=case,
                    expected_version=data["version"],
                    urgency=data["urgency"],
                    next_contact_due=data["next_contact_due"],
                    owner=data["owner"] if data["owner"] != case.owner else "",
                    own_words=data["own_words"],
                    summary=data["summary"],
                )
            except ConflictError:
                form = f.CaseEditForm(_with_version(form, _current_version(request, case_id)))
                form.is_valid()
                form.add_error(None, CONFLICT_MESSAGE)
            except ValidationError as exc:
                f.add_service_errors(form, exc)
            else:
                messages.success(request, _("The case was saved."))
                return redirect("web:case", case_id=case.pk)
        status = 400
    else:
        form = f.CaseEditForm(
            initial={
                "version": case.version,
                "urgency": case.urgency,
                "next_contact_due": case.next_contact_due,
                "owner": case.owner,
                "own_words": detail.data.get("own_words", ""),
                "summary": detail.data.get("summary", ""),
            }
        )
    return render(
        request, "web/case_edit.html", {"detail": detail, "case": case, "form": form}, status=status
    )


def _current_version(request: HttpRequest, case_id: Any, *, person: bool = False) -> int:
    current = selectors.case_get(user=actor(request), case_id=case_id)
    return current.person.version if person else current.version


@login_required
def person_edit(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    detail = selectors.case_detail(ctx=ctx(request), user=user, case_id=case_id)
    case = detail.case
    status = 200
    if request.method == "POST":
        form = f.PersonEditForm(request.POST)
        if form.is_valid():
            try:
                services.person_update(
                    ctx=ctx(request),
                    actor=user,
                    case=case,
                    expected_version=form.cleaned_data["version"],
                    person=form.person_input(),
                )
            except ConflictError:
                form = f.PersonEditForm(
                    _with_version(form, _current_version(request, case_id, person=True))
                )
                form.is_valid()
                form.add_error(None, CONFLICT_MESSAGE)
            except ValidationError as exc:
                for key, msgs in f.add_people_errors([form], exc):
                    for message in msgs:
                        form.add_error(key if key in form.fields else None, message)
            else:
                messages.success(request, _("The person's details were saved."))
                return redirect("web:case", case_id=case.pk)
        status = 400
    else:
        person = detail.person
        birth = person.get("birth") or {}
        form = f.PersonEditForm(
            initial={
                "version": case.person.version,
                "name_hangul": person.get("name_hangul", ""),
                "name_romanized": person.get("name_romanized", ""),
                "aliases": ", ".join(person.get("aliases") or []),
                "sex": person.get("sex", "unknown"),
                "birth_value": birth.get("value", ""),
                "birth_precision": birth.get("precision", "unknown"),
                "birth_calendar": birth.get("calendar", ""),
                "origin_region": person.get("origin_region", ""),
                "occupation": f.occupation_as_text(person.get("occupation")),
            }
        )
    return render(
        request,
        "web/person_edit.html",
        {"detail": detail, "case": case, "form": form},
        status=status,
    )
