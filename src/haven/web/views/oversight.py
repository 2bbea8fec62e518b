"""Supervisors' oversight pages: what retention will destroy, and lockdown."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from haven.accounts.models import Role, User
from haven.cases.selectors import case_get
from haven.lockdown.models import Lockdown
from haven.lockdown.services import lockdown_active, lockdown_start
from haven.retention.selectors import retention_upcoming
from haven.retention.services import MAX_HOLD_DAYS, retention_hold
from haven.vault.context import delete_key_cookie
from haven.web.views.common import actor, paginate, recent_password_required


class HoldForm(forms.Form):
    case = forms.UUIDField()
    days = forms.IntegerField(
        label=gettext_lazy("Keep for (days)"), min_value=1, max_value=MAX_HOLD_DAYS, initial=90
    )


class LockdownForm(forms.Form):
    drill = forms.BooleanField(required=False)


def _supervisor(request: HttpRequest) -> User:
    user = actor(request)
    if not (user.is_active and user.role == Role.SUPERVISOR):
        raise PermissionDenied(_("Only supervisors see this page."))
    return user


@login_required
def retention_page(request: HttpRequest) -> HttpResponse:
    _supervisor(request)
    return render(
        request,
        "web/retention.html",
        {
            "page": paginate(request, retention_upcoming()),
            "rules": sorted(settings.HAVEN_RETENTION_DAYS.items()),
            "notice_days": settings.HAVEN_RETENTION_NOTICE_DAYS,
            "hold_form": HoldForm(),
        },
    )


@login_required
@require_POST
def retention_hold_view(request: HttpRequest) -> HttpResponse:
    user = _supervisor(request)
    form = HoldForm(request.POST)
    if form.is_valid():
        case = case_get(user=user, case_id=form.cleaned_data["case"])
        try:
            retention_hold(actor=user, case=case, days=form.cleaned_data["days"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The case is held back from deletion."))
    else:
        messages.error(
            request, _("Choose a case and a number of days (1 to %(n)d).") % {"n": MAX_HOLD_DAYS}
        )
    return redirect("web:retention")


@login_required
def lockdown_page(request: HttpRequest) -> HttpResponse:
    _supervisor(request)
    return render(
        request,
        "web/lockdown.html",
        {
            "active": lockdown_active(),
            "history": Lockdown.objects.select_related("started_by")[:10],
        },
    )


@login_required
@require_POST
@recent_password_required
def lockdown_start_view(request: HttpRequest) -> HttpResponse:
    user = _supervisor(request)
    form = LockdownForm(request.POST)
    drill = form.is_valid() and form.cleaned_data["drill"]
    try:
        lockdown: Any = lockdown_start(actor=user, drill=drill)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("web:lockdown")
    if drill:
        messages.success(
            request,
            _(
                "Drill recorded: a lockdown now would end %(s)d sessions and %(t)d API tokens, "
                "and suspend logins until two supervisors lift it with `haven lockdown lift`."
            )
            % {"s": lockdown.sessions_ended, "t": lockdown.tokens_ended},
        )
        return redirect("web:lockdown")
    # This session ended with all the others; start the response from a clean one.
    logout(request)
    response = redirect("web:login")
    delete_key_cookie(response)
    return response
