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
from haven.crypto import CryptoError, KeyContext
from haven.vault.context import delete_key_cookie, key_context, session_keys_store
from haven.vault.services import user_key_open

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
    """Logging in also unlocks the person's key for the session (see :mod:`haven.vault.context`)."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        try:
            key = user_key_open(user=user, password=form.cleaned_data["password"])
        except CryptoError:
            form.add_error(None, _("Your key could not be unlocked with this password."))
            return self.form_invalid(form)
        response = super().form_valid(form)  # rotates the session key
        session_keys_store(self.request, key)
        return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)  # flushes the session, and the encrypted key with it
    response = redirect("web:login")
    delete_key_cookie(response)
    return response


__all__ = ["LoginView", "actor", "ctx", "login_required", "logout_view", "paginate"]
