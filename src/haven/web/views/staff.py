"""Staff accounts (administrators): list, create, change role and team, deactivate, reset a
password (and the authenticator). The same services, rules and audit entries as
``haven createuser``, ``changeuser`` and ``resetpassword``; every change needs the password
typed in the last few minutes. A temporary password is shown once, on the answer to the POST
that made it (never stored readable, never in a URL), and must be replaced at first login.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from haven import access
from haven.accounts import selectors
from haven.accounts.models import Role, Team, User
from haven.accounts.services import (
    temporary_password_new,
    user_create,
    user_password_reset,
    user_set_partner,
    user_update,
)
from haven.validation import clean_text
from haven.web import forms as f
from haven.web import staff_forms as sf
from haven.web.views.common import actor, recent_password_required

KEYS_NOTE = _(
    "A supervisor shares the team keys their role calls for, and replaces any key they left, "
    "on the Keys page."
)


def _require(request: HttpRequest) -> None:
    if not access.allowed(actor(request), "user.manage"):
        raise PermissionDenied(_("Only administrators manage staff accounts."))


def _shown_once(
    request: HttpRequest, person: User, password: str, *, created: bool
) -> HttpResponse:
    response = render(
        request,
        "web/staff/password.html",
        {"person": person, "password": password, "created": created, "keys_note": KEYS_NOTE},
    )
    response["Cache-Control"] = "no-store"
    return response


def _team(data: dict[str, Any]) -> Team | None:
    if data.get("new_team"):
        name = clean_text(
            data["new_team"], field="new_team", max_length=80, required=True, multiline=False
        )
        return Team.objects.get_or_create(name=name)[0]
    return data.get("team")


@login_required
@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    _require(request)
    role = request.GET.get("role", "")
    active = {"1": True, "0": False}.get(request.GET.get("active", ""))
    people = selectors.staff_list(
        user=actor(request), role=role if role in Role.values else "", active=active
    )
    return render(
        request,
        "web/staff/list.html",
        {
            "people": people,
            "roles": Role.choices,
            "role": role,
            "active": request.GET.get("active", ""),
        },
    )


@login_required
@recent_password_required
def staff_new(request: HttpRequest) -> HttpResponse:
    _require(request)
    form = sf.StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        password = temporary_password_new()
        try:
            with transaction.atomic():
                person = user_create(
                    username=data["username"],
                    password=password,
                    role=data["role"],
                    team=_team(data),
                    actor=actor(request),
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                )
                if data.get("partner") is not None and data["role"] == Role.PARTNER_LIAISON:
                    user_set_partner(actor=actor(request), user=person, partner=data["partner"])
        except ValidationError as exc:
            f.add_service_errors(form, exc)
        else:
            return _shown_once(request, person, password, created=True)
    return render(
        request,
        "web/staff/form.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def staff_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    _require(request)
    person = selectors.staff_get(user=actor(request), user_id=user_id)
    change = sf.StaffChangeForm(
        initial={"role": person.role, "team": person.team_id, "partner": person.partner_id}
    )
    return render(
        request,
        "web/staff/detail.html",
        {
            "person": person,
            "keys": selectors.staff_keys(user=actor(request), person=person),
            "change": change,
            "reset": sf.StaffResetForm(),
            "is_self": person.pk == actor(request).pk,
        },
    )


@login_required
@require_POST
@recent_password_required
def staff_change(request: HttpRequest, user_id: int) -> HttpResponse:
    _require(request)
    person = selectors.staff_get(user=actor(request), user_id=user_id)
    form = sf.StaffChangeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                team: Team | None | str = None if data["no_team"] else (_team(data) or "")
                user_update(actor=actor(request), user=person, role=data["role"], team=team)
                partner = data.get("partner") if data["role"] == Role.PARTNER_LIAISON else None
                if partner != person.partner:
                    user_set_partner(actor=actor(request), user=person, partner=partner)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(
                request,
                _("%(name)s: %(role)s, team %(team)s.")
                % {
                    "name": person.username,
                    "role": person.get_role_display(),
                    "team": person.team or "—",
                }
                + " "
                + str(KEYS_NOTE),
            )
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("web:staff_member", user_id=person.pk)


@login_required
@require_POST
@recent_password_required
def staff_active(request: HttpRequest, user_id: int) -> HttpResponse:
    _require(request)
    person = selectors.staff_get(user=actor(request), user_id=user_id)
    form = sf.StaffActiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say whether they may log in."))
        return redirect("web:staff_member", user_id=person.pk)
    try:
        user_update(actor=actor(request), user=person, is_active=form.cleaned_data["active"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        if form.cleaned_data["active"]:
            messages.success(request, _("%(name)s may log in again.") % {"name": person.username})
        else:
            from haven.accounts.services import sessions_end_for

            sessions_end_for(user=person)
            messages.success(
                request,
                _("%(name)s can no longer log in; their sessions ended.")
                % {"name": person.username}
                + " "
                + str(KEYS_NOTE),
            )
    return redirect("web:staff_member", user_id=person.pk)


@login_required
@require_POST
@recent_password_required
def staff_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    _require(request)
    person = selectors.staff_get(user=actor(request), user_id=user_id)
    form = sf.StaffResetForm(request.POST)
    if not form.is_valid() or form.cleaned_data["confirm"].strip() != person.username:
        messages.error(request, _("Type their username to confirm the reset; nothing changed."))
        return redirect("web:staff_member", user_id=person.pk)
    password = temporary_password_new()
    try:
        lost = user_password_reset(
            actor=actor(request),
            user=person,
            new_password=password,
            reset_two_factor=form.cleaned_data["reset_two_factor"],
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("web:staff_member", user_id=person.pk)
    messages.warning(
        request,
        _(
            "%(name)s has a new key pair: their access to %(n)d records is lost until a "
            "supervisor restores it on the Keys page (or the recovery words do)."
        )
        % {"name": person.username, "n": lost},
    )
    return _shown_once(request, person, password, created=False)
