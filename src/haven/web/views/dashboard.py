"""The dashboard: counts by state, urgent and overdue cases, new requests, requests per year."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from haven import access
from haven.cases import selectors
from haven.cases.journey import State
from haven.referrals.selectors import awaiting_approval
from haven.web.menu import entries_for
from haven.web.views.audit import audit_head_context
from haven.web.views.common import actor, ctx
from haven.web.views.requests import queued_requests_open

DASHBOARD_APPROVALS = 20


@login_required
def dashboard_view(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    if not access.has_role(user, access.CASE_READERS):
        return render(request, "web/home.html", {"links": entries_for(user, where="home")})
    # After its answer only: the dashboard shows counts, which the next one brings up to date.
    queued = queued_requests_open(request, before=False)
    board = selectors.dashboard(user=user)
    urgent = selectors.case_rows(ctx=ctx(request), user=user, cases=board.urgent)
    overdue = selectors.case_rows(ctx=ctx(request), user=user, cases=board.overdue)
    most = max((n for _, n in board.requests_by_year), default=0)
    awaiting: list[tuple[Any, str]] = []
    if access.allowed(user, "referral.approve"):
        referrals = list(awaiting_approval(user=user)[:DASHBOARD_APPROVALS])
        rows = selectors.case_rows(
            ctx=ctx(request), user=user, cases=list({r.case_id: r.case for r in referrals}.values())
        )
        names = {row.case.pk: row.name for row in rows}
        awaiting = [(r, names.get(r.case_id, "")) for r in referrals]
    context = {
        "board": board,
        "states": [(State(s), n) for s, n in board.by_state.items()],
        "urgent": urgent,
        "overdue": overdue,
        "per_year_max": most,
        "awaiting_approval": awaiting,
        "approver": access.allowed(user, "referral.approve"),
        "queued": queued,
    }
    if access.allowed(user, "audit.head"):
        # Supervisors print the signed head of the audit trail from here (docs/security.md).
        context |= {"show_audit_head": True, **audit_head_context(user)}
    return render(request, "web/dashboard.html", context)
