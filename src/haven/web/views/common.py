"""Helpers shared by the web views."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from haven.accounts.models import User
from haven.crypto import KeyContext
from haven.vault.context import key_context

PAGE_SIZE = 50
CONFLICT_MESSAGE = _(
    "Someone else changed this record since you opened it, so nothing was saved. "
    "Your input is kept below: check the current state and submit again."
)


def actor(request: HttpRequest) -> User:
    """The logged-in staff member (views are wrapped in ``login_required``)."""
    return cast(User, request.user)


def ctx(request: HttpRequest) -> KeyContext:
    return key_context(request)


def paginate(request: HttpRequest, items: Any, *, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:login")


__all__ = ["LoginView", "actor", "ctx", "login_required", "logout_view", "paginate"]
