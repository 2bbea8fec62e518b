"""Logging in: password (which also unlocks the person's key), then the second factor.

Between the two steps the person is not logged in: the session holds only who is on their way
in, since when, how many codes they tried, and their key encrypted under the cookie secret.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts.middleware import AUTH_AT, session_start
from haven.accounts.models import User
from haven.accounts.two_factor import (
    second_factor_verify,
    totp_device,
    totp_enrol_begin,
    totp_enrol_confirm,
)
from haven.audit.services import audit_record
from haven.crypto import CryptoError
from haven.lockdown.services import lockdown_active
from haven.vault.context import session_keys_store
from haven.vault.services import user_key_open
from haven.web.views.common import actor, login_required

PENDING = "haven_pending_login"
PENDING_SECONDS = 300
MAX_CODE_TRIES = 5


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code from your authenticator app, or a recovery code"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Password"), widget=forms.PasswordInput, max_length=1024
    )


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return settings.LOGIN_REDIRECT_URL


class LoginView(auth_views.LoginView):
    """Step one: the password, checked (and throttled by django-axes) and used to unlock the key."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        if lockdown_active() is not None:
            form.add_error(None, LOCKED_DOWN)
            return self.form_invalid(form)
        user = form.get_user()
        try:
            key = user_key_open(user=user, password=form.cleaned_data["password"])
        except CryptoError:
            form.add_error(None, _("Your key could not be unlocked with this password."))
            return self.form_invalid(form)
        if not settings.HAVEN_REQUIRE_2FA and totp_device(user) is None:
            login(self.request, user)
            session_start(self.request, two_factor=False)
            session_keys_store(self.request, key, user=user)
            return redirect(_safe_next(self.request, self.request.POST.get("next")))
        self.request.session.cycle_key()
        session_keys_store(self.request, key, user=user)
        self.request.session[PENDING] = {
            "user": user.pk,
            "since": time.time(),
            "tries": 0,
            "next": _safe_next(self.request, self.request.POST.get("next")),
        }
        return redirect("web:login_two_factor")


def _pending(request: HttpRequest) -> tuple[dict[str, Any], User] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("since", 0) > PENDING_SECONDS:
        return None
    user_id = pending.get("user")
    if not isinstance(user_id, int):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return (pending, user) if user is not None else None


LOCKED_DOWN = gettext_lazy(
    "Haven is locked down: logins are suspended until two supervisors lift the lockdown."
)


def _finish(request: HttpRequest, user: User, pending: dict[str, Any]) -> None:
    request.session.pop(PENDING, None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    session_start(request, two_factor=True)
    audit_record(actor=user, action="login", target=user)


def two_factor(request: HttpRequest) -> HttpResponse:
    """Step two: a code from the authenticator (or a recovery code); enrolment on first login."""
    found = _pending(request)
    if found is None:
        request.session.pop(PENDING, None)
        messages.info(request, _("Log in with your password first."))
        return redirect("web:login")
    pending, user = found
    if lockdown_active() is not None:
        request.session.flush()
        messages.error(request, LOCKED_DOWN)
        return redirect("web:login")
    device = totp_device(user)
    if device is None:
        return _enrol(request, user, pending)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            second_factor_verify(user=user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            pending["tries"] = pending.get("tries", 0) + 1
            request.session[PENDING] = pending
            if pending["tries"] >= MAX_CODE_TRIES:
                request.session.flush()
                messages.error(request, _("Too many wrong codes. Log in again."))
                return redirect("web:login")
            form.add_error("code", exc.message_dict.get("code", exc.messages))
        else:
            _finish(request, user, pending)
            return redirect(pending.get("next") or settings.LOGIN_REDIRECT_URL)
    status = 400 if request.method == "POST" else 200
    return render(request, "web/login_two_factor.html", {"form": form}, status=status)


def _qr_svg(url: str) -> str:
    # Inline SVG: no script, no external image, allowed by the page's Content-Security-Policy.
    return segno.make(url, error="m").svg_inline(scale=4, dark="#1f2933", light="#ffffff")


def _enrol(request: HttpRequest, user: User, pending: dict[str, Any]) -> HttpResponse:
    device = TOTPDevice.objects.filter(pk=pending.get("device"), user=user, confirmed=False).first()
    if device is None:
        device = totp_enrol_begin(user=user)
        pending["device"] = device.pk
        request.session[PENDING] = pending
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp_enrol_confirm(user=user, device=device, code=form.cleaned_data["code"])
        except ValidationError as exc:
            form.add_error("code", exc.message_dict.get("code", exc.messages))
        else:
            _finish(request, user, pending)
            return render(
                request,
                "web/recovery_codes.html",
                {"codes": codes, "next": pending.get("next") or settings.LOGIN_REDIRECT_URL},
            )
    return render(
        request,
        "web/login_enrol.html",
        {
            "form": form,
            "qr": _qr_svg(device.config_url),
            "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def confirm_password(request: HttpRequest) -> HttpResponse:
    """Type the password again before a grave action (throttled like the login)."""
    user = actor(request)
    form = PasswordForm(request.POST or None)
    target = _safe_next(request, request.GET.get("next") or request.POST.get("next"))
    if request.method == "POST" and form.is_valid():
        checked = authenticate(
            request, username=user.get_username(), password=form.cleaned_data["password"]
        )
        if checked is not None and checked.pk == user.pk:
            request.session[AUTH_AT] = time.time()
            return redirect(target)
        form.add_error("password", _("That is not your password."))
    return render(
        request,
        "web/confirm_password.html",
        {"form": form, "next": target},
        status=400 if request.method == "POST" else 200,
    )
