"""Carries the key-cookie secret set at login and turns a locked key into a fresh login."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse

from haven.crypto import MissingKeyError
from haven.vault.context import (
    COOKIE_NAME,
    SESSION_KEY,
    KeysUnavailableError,
    delete_key_cookie,
    set_key_cookie,
)
from haven.web.after import run_after, work_taken


class KeyCookieMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        secret = getattr(request, "_haven_key_secret", None)
        if secret is not None and getattr(request, "session", None) is not None:
            set_key_cookie(response, secret)
        elif COOKIE_NAME in request.COOKIES and SESSION_KEY not in getattr(request, "session", {}):
            # Logged out or the session ended: the stored half is gone, drop this half too.
            delete_key_cookie(response)
        ctx = getattr(request, "_haven_key_context", None)
        if ctx is not None:
            work = work_taken(request)
            if work:
                # The page left work that needs the keys (haven.web.after): forgotten once it
                # is done, right after the answer was sent, instead of now.
                run_after(response, work, finally_=ctx.forget)
            else:
                ctx.forget()
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, MissingKeyError):
            # A role that reads cases, but no grant for this one: a plain refusal.
            raise PermissionDenied(
                "You hold no key for this record. Ask a colleague who holds it to grant you access."
            ) from exception
        if not isinstance(exception, KeysUnavailableError):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"code": "keys_locked", "detail": str(exception)}, status=401)
        logout(request)
        messages.warning(request, "Your keys were locked (the session ended). Log in again.")
        response = redirect_to_login(request.get_full_path())
        delete_key_cookie(response)
        return response
