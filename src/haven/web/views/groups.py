"""Groups: the list, a group's page, and moving its members together (also from a member's
case page)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from haven.cases import selectors, services
from haven.cases.journey import TERMINAL, TransitionError
from haven.cases.models import Group
from haven.cases.selectors import CaseRow
from haven.errors import ConflictError
from haven.web import forms as f
from haven.web.views.common import CONFLICT_MESSAGE, actor, ctx, paginate


@login_required
def group_list(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    page = paginate(request, selectors.group_list(user=user))
    rows = selectors.group_rows(ctx=ctx(request), user=user, groups=list(page.object_list))
    return render(request, "web/group_list.html", {"page": page, "rows": rows})


@login_required
def group_detail(request: HttpRequest, group_id: Any) -> HttpResponse:
    return _group_page(request, group_id)


def _group_page(
    request: HttpRequest, group_id: Any, *, form: f.GroupMoveForm | None = None, status: int = 200
) -> HttpResponse:
    user = actor(request)
    row = selectors.group_detail(ctx=ctx(request), user=user, group_id=group_id)
    if form is None:
        form = move_form(row.members, ticked=_asked_members(request, row.members))
    return render(
        request,
        "web/group_detail.html",
        {
            "row": row,
            "group": row.group,
            "form": form,
            "group_move_url": reverse("web:group_move", args=[row.group.pk]),
        },
        status=status,
    )


def _asked_members(request: HttpRequest, members: Sequence[CaseRow]) -> set[str]:
    """The members to tick: those named in ``?members=`` (kept after a move), else every member
    still on the journey."""
    asked = set(request.GET.get("members", "").split(","))
    chosen = {str(m.case.pk) for m in members if str(m.case.pk) in asked}
    return chosen or {str(m.case.pk) for m in members if m.case.state not in TERMINAL}


def move_form(members: Sequence[CaseRow], *, ticked: set[str], data: Any = None) -> f.GroupMoveForm:
    """The group move form: members labelled by name and state, ``ticked`` ticked, and the
    states the ticked members can reach together offered."""
    choices = [
        (f.member_choice(m.case), f"{m.name} — {m.case.get_state_display()}") for m in members
    ]
    chosen = [m for m in members if str(m.case.pk) in ticked] or list(members)
    targets = f.group_targets((m.case.state, m.case.returns_to) for m in chosen)
    if data is not None:
        # The page offered the targets of the members it had ticked; the person may have ticked
        # others since. Any state a member can reach is a valid choice here, and the move then
        # says which member cannot go there (rather than "not one of the available choices").
        every = f.group_targets_any((m.case.state, m.case.returns_to) for m in members)
        return f.GroupMoveForm(data, members=choices, targets=every)
    return f.GroupMoveForm(
        initial={
            "case_ids": [f.member_choice(m.case) for m in members if str(m.case.pk) in ticked],
            "country": chosen[0].case.country if chosen else "",
        },
        members=choices,
        targets=targets,
    )


def group_move_submit(
    request: HttpRequest, group: Group, members: Sequence[CaseRow]
) -> tuple[f.GroupMoveForm, list[str] | None]:
    """Validate and apply a group move; the form (with errors, or as submitted) and, when the
    move was made, the ids of the members moved."""
    by_id = {str(m.case.pk): m for m in members}
    submitted = [v for v in request.POST.getlist("case_ids") if v.split(":", 1)[0] in by_id]
    # Any version of a real member is a valid choice here; a stale one is a ConflictError.
    ticked = {v.split(":", 1)[0] for v in submitted}
    data = request.POST.copy()
    data.setlist("case_ids", submitted)
    form = move_form(members, ticked=ticked, data=data)
    form.fields["case_ids"].choices = [  # type: ignore[attr-defined]
        *form.fields["case_ids"].choices,  # type: ignore[attr-defined]
        *((v, v) for v in submitted),
    ]
    if not form.is_valid():
        return form, None
    try:
        services.group_advance(
            ctx=ctx(request),
            actor=actor(request),
            group=group,
            case_versions=form.case_versions(),
            to_state=form.cleaned_data["to_state"],
            through=True,
            **form.event_kwargs(),
        )
    except TransitionError as exc:
        who = by_id.get(str(exc.case_id))
        form.add_error("to_state", f"{who.name}: {exc}" if who is not None else str(exc))
    except ConflictError:
        form.add_error(None, CONFLICT_MESSAGE)
    except ValidationError as exc:
        f.add_service_errors(form, exc)
    else:
        moved = sorted(form.case_versions())
        messages.success(
            request,
            _("%(n)d member(s) of the group were moved to “%(state)s”.")
            % {
                "n": len(moved),
                "state": dict(form.fields["to_state"].choices)[  # type: ignore[attr-defined]
                    form.cleaned_data["to_state"]
                ],
            },
        )
        return form, moved
    return form, None


def relabelled(
    form: f.GroupMoveForm, members: Sequence[CaseRow], ticked: set[str]
) -> f.GroupMoveForm:
    """The refused form again, members at their current versions and labelled by name, the
    members chosen still ticked, and its errors kept."""
    data = form.data.copy()  # type: ignore[attr-defined]
    data.setlist("case_ids", [f.member_choice(m.case) for m in members if str(m.case.pk) in ticked])
    again = move_form(members, ticked=ticked, data=data)
    again.is_valid()
    for field, errors in form.errors.items():
        for error in errors:
            if error not in again.errors.get(field, []):
                again.add_error(None if field == "__all__" else field, error)
    return again


@login_required
@require_POST
def group_move(request: HttpRequest, group_id: Any) -> HttpResponse:
    user = actor(request)
    row = selectors.group_detail(ctx=ctx(request), user=user, group_id=group_id)
    form, moved = group_move_submit(request, row.group, row.members)
    if moved is not None:
        url = reverse("web:group", args=[row.group.pk])
        return redirect(f"{url}?{urlencode({'members': ','.join(moved)})}")
    fresh = selectors.group_detail(ctx=ctx(request), user=user, group_id=group_id)
    ticked = {v.split(":", 1)[0] for v in request.POST.getlist("case_ids")}
    return _group_page(request, group_id, form=relabelled(form, fresh.members, ticked), status=400)
