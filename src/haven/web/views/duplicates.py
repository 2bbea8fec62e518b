"""Possible duplicates: deciding about a pair (from a request's or a case's page) and the
review queue that `haven dedupe` fills (intake and supervisors)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from haven import access
from haven.cases.models import Case
from haven.cases.selectors import case_get, case_queryset
from haven.dedupe import selectors, services
from haven.dedupe.models import DecisionKind
from haven.web.views.common import actor, ctx

DONE = {
    DecisionKind.LINK: gettext_lazy("Linked: the two files are kept and shown as the same person."),
    DecisionKind.MERGE: gettext_lazy("Merged: both histories are kept; this can be undone."),
    DecisionKind.NOT_SAME: gettext_lazy("Remembered: this pair will not be proposed again."),
}


def _back(request: HttpRequest, case: Case) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("web:case", case_id=case.pk)


def _visible_case(request: HttpRequest, value: Any) -> Case | None:
    try:
        pk = uuid.UUID(str(value))
    except ValueError:
        return None
    return case_queryset(user=actor(request)).select_related("person").filter(pk=pk).first()


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
@require_POST
def case_duplicate_decide(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    case = case_get(user=user, case_id=case_id)
    if not access.allowed(user, "duplicate.decide"):
        raise PermissionDenied
    other = _visible_case(request, request.POST.get("other"))
    kind = request.POST.get("kind", "")
    if other is None:
        messages.error(request, _("Unknown case."))
        return _back(request, case)
    survivor = {"this": case, "other": other}.get(request.POST.get("survivor", ""))
    try:
        services.duplicate_decide(
            ctx=ctx(request), actor=user, case=case, other=other, kind=kind, survivor=survivor
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, DONE[DecisionKind(kind)])
    return _back(request, case)


@login_required
@require_POST
def case_duplicate_undo(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    case = case_get(user=user, case_id=case_id)
    if not access.allowed(user, "duplicate.decide"):
        raise PermissionDenied
    decision = selectors.decision_get(user=user, decision_id=request.POST.get("decision"))
    if decision is None or case.pk not in (decision.case_a_id, decision.case_b_id):
        messages.error(request, _("Unknown decision."))
        return _back(request, case)
    try:
        services.duplicate_undo(ctx=ctx(request), actor=user, decision=decision)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Undone: both cases are separate files again."))
    return _back(request, case)


@login_required
@require_GET
def duplicate_review(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    if not access.allowed(user, "duplicate.review"):
        raise PermissionDenied
    return render(
        request,
        "web/duplicates.html",
        {
            "duplicates": selectors.review_queue(ctx=ctx(request), user=user),
            "can_run": access.allowed(user, "duplicate.run"),
        },
    )


@login_required
@require_POST
def duplicate_run(request: HttpRequest) -> HttpResponse:
    """The full pass from the Duplicates page, with the supervisor's own keys (as `haven
    dedupe --supervisor NAME` does at the server): fills the review queue."""
    user = actor(request)
    access.require(access.allowed(user, "duplicate.run"))
    run = services.dedupe_run(ctx=ctx(request), actor=user)
    messages.success(
        request,
        _(
            "The duplicate pass compared %(people)d people and proposed %(proposed)d pairs "
            "to review."
        )
        % {"people": run.people, "proposed": run.proposed},
    )
    if run.unopened:
        messages.warning(
            request,
            _("%(n)d people could not be compared: you hold no key for them.")
            % {"n": run.unopened},
        )
    return redirect("web:duplicates")
