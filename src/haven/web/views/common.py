"""Helpers shared by the web views."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from haven.accounts.middleware import AUTH_AT
from haven.accounts.models import User
from haven.crypto import KeyContext
from haven.vault.context import delete_key_cookie, key_context

PAGE_SIZE = 50
CONFLICT_MESSAGE = _(
    "Someone else changed this record since you opened it, so nothing was saved. "
    "Your input is kept below: check the current state and submit again."
)
SENT_TWICE_MESSAGE = _(
    "This form was sent twice (a double click or a resend): it was stored once, nothing more."
)


def actor(request: HttpRequest) -> User:
    """The logged-in staff member (views are wrapped in ``login_required``)."""
    return cast(User, request.user)


def ctx(request: HttpRequest) -> KeyContext:
    return key_context(request)


def paginate(
    request: HttpRequest, items: Any, *, per_page: int = PAGE_SIZE, count: int | None = None
) -> Page:
    """One page of ``items``; ``count``, when the caller knows it, saves counting them again."""
    paginator = Paginator(items, per_page)
    if count is not None:
        paginator.count = count
    return paginator.get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    return query_without(request, "page")


def query_without(request: HttpRequest, *names: str) -> str:
    """The request's query string without the parameters ``names`` (for links that set them)."""
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)  # flushes the session, and the encrypted key with it
    response = redirect("web:login")
    delete_key_cookie(response)
    return response


__all__ = ["actor", "ctx", "login_required", "logout_view", "paginate", "recent_password_required"]


def recent_password_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Grave actions (grant, revoke, delete, key changes) need the password typed recently."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        typed = request.session.get(AUTH_AT)
        if (
            not isinstance(typed, int | float)
            or time.time() - typed > settings.HAVEN_REAUTH_SECONDS
        ):
            messages.info(request, _("Confirm your password, then do it again."))
            back = request.META.get("HTTP_REFERER", "") if request.method == "POST" else ""
            target = request.get_full_path() if request.method == "GET" else back
            return redirect(f"{reverse('web:confirm_password')}?{urlencode({'next': target})}")
        return view(request, *args, **kwargs)

    return wrapped
