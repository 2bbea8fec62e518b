"""What waits for the person: the list behind the count in the navigation."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from haven.cases import selectors as case_selectors
from haven.notifications.selectors import notices
from haven.web.views.common import actor, ctx

SHOWN = 50  # of each kind


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    groups = []
    for notice in notices(user=user):
        items = list(notice.items[: SHOWN + 1])
        more, items = len(items) > SHOWN, items[:SHOWN]
        groups.append(
            {"notice": notice, "items": _named(request, notice.kind, items), "more": more}
        )
    return render(request, "web/notifications.html", {"groups": groups})


def _named(request: HttpRequest, kind: str, items: list[Any]) -> list[tuple[Any, str]]:
    """Each item with the person's name where staff hold the case (decrypted for this page)."""
    user = actor(request)
    cases = {
        "overdue": lambda item: item,
        "assigned": lambda item: item,
        "approval": lambda item: item.case,
    }.get(kind)
    if cases is None or not items:
        return [(item, "") for item in items]
    rows = case_selectors.case_rows(
        ctx=ctx(request), user=user, cases=list({cases(i).pk: cases(i) for i in items}.values())
    )
    names = {row.case.pk: row.name for row in rows}
    return [(item, names.get(cases(item).pk, "")) for item in items]
