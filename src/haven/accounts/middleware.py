"""Session limits: two-factor login done, idle timeout and absolute lifetime.

A session that breaks a limit is ended (its encrypted key with it) and the person is sent to log
in again; the API answers 401.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from haven.vault.context import delete_key_cookie

LOGIN_AT = "haven_login_at"
SEEN_AT = "haven_seen_at"
AUTH_AT = "haven_auth_at"
TWO_FACTOR = "haven_2fa"
# Writing the session on every request would cost a database write each; a minute is precise
# enough for a 30-minute idle limit.
_TOUCH_EVERY = 60


def session_start(request: HttpRequest, *, two_factor: bool) -> None:
    """Mark a fresh login (call right after ``django.contrib.auth.login``)."""
    now = time.time()
    request.session[LOGIN_AT] = now
    request.session[SEEN_AT] = now
    request.session[AUTH_AT] = now
    request.session[TWO_FACTOR] = two_factor


def _broken_limit(request: HttpRequest, now: float) -> str | None:
    session = request.session
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        return "Please log in again."
    if now - seen_at > settings.HAVEN_IDLE_TIMEOUT:
        return "You were logged out after a while without activity. Log in again."
    if now - login_at > settings.SESSION_COOKIE_AGE:
        return "Your session reached its time limit. Log in again."
    if settings.HAVEN_REQUIRE_2FA and not session.get(TWO_FACTOR):
        return "Two-factor login is required. Log in again."
    return None


class SessionLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            problem = _broken_limit(request, now)
            if problem is not None:
                logout(request)  # flushes the session and the encrypted key in it
                response: HttpResponse
                if request.path.startswith("/api/"):
                    response = JsonResponse(
                        {"code": "session_ended", "detail": problem}, status=401
                    )
                else:
                    messages.warning(request, problem)
                    response = redirect_to_login(request.get_full_path())
                delete_key_cookie(response)
                return response
            if now - request.session[SEEN_AT] > _TOUCH_EVERY:
                request.session[SEEN_AT] = now
            if getattr(user, "password_change_required", False) and not _may_pass(request):
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"code": "password_change_required", "detail": CHOOSE_OWN}, status=403
                    )
                messages.info(request, CHOOSE_OWN)
                return redirect("web:password_change")
        return self.get_response(request)


CHOOSE_OWN = (
    "Someone else chose your password. Choose your own now; nobody can share keys with you "
    "until you do."
)


def _may_pass(request: HttpRequest) -> bool:
    return request.path in (reverse("web:password_change"), reverse("web:logout")) or (
        request.path.startswith(settings.STATIC_URL or "/static/")
    )
