"""One search over people, groups, brokers and requests, through the blind index."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from haven import access
from haven.cases import selectors
from haven.cases.search import (
    MAX_QUERY_CHARS,
    search_everything,
    search_index_refresh,
    search_index_settle,
)
from haven.web.after import after_response
from haven.web.views.common import actor, ctx

MAX_SHOWN = 50


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name, part of a name, label or number"),
        max_length=MAX_QUERY_CHARS,
        help_text=_(
            "Any spelling of a name (김선희, Kim Sun-hui); two syllables of it or more (김순, "
            "Sun-hui); a group's label or a word of it; a broker's alias or phone number."
        ),
    )


@login_required
def search(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    access.require(access.allowed(user, "case.read"))
    form = SearchForm(request.GET or None)
    found: dict[str, Any] = {}
    if form.is_valid():
        try:
            found = _everything(request, form.cleaned_data["q"])
        except ValidationError as exc:
            form.add_error("q", exc.message_dict.get("q", exc.messages))
        except PermissionDenied as exc:  # no all-staff key shared with them yet
            messages.error(request, str(exc))
    return render(request, "web/search.html", {"form": form, **found})


def _everything(request: HttpRequest, query: str) -> dict[str, Any]:
    user, key_ctx = actor(request), ctx(request)
    waiting = search_index_settle(ctx=key_ctx, actor=user)
    found = search_everything(ctx=key_ctx, user=user, query=query, shown=MAX_SHOWN)
    people, groups, brokers = found.people, found.groups, found.brokers
    if waiting:
        after_response(request, lambda: search_index_refresh(ctx=key_ctx, actor=user))
    # The requests behind what was found: the people's, the groups', the brokers'.
    request_ids = {r.case.request_id for r in people} | {g.group.request_id for g in groups}
    requests = list(
        selectors.request_list(user=user)
        .filter(
            Q(pk__in=[i for i in request_ids if i is not None])
            | Q(broker__in=[broker for broker, _alias in brokers])
        )
        .order_by("-received_at")[:MAX_SHOWN]
    )
    return {
        "searched": True,
        "people": people,
        "groups": groups,
        "brokers": brokers,
        "requests": requests,
        "waiting": waiting,
    }
