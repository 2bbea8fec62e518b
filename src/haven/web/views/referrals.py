"""The referral wizard (partner, purpose, fields, then consent), the referral page and its actions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from haven import access
from haven.cases import selectors as case_selectors
from haven.errors import ConflictError
from haven.referrals import selectors, services
from haven.referrals.models import DISCLOSABLE_FIELDS, Referral
from haven.web import forms as f
from haven.web.views.common import actor, ctx, paginate

CONSENT_ERRORS = {
    "fields": "consent_fields",
    "method": "consent_method",
    "words": "consent_words",
    "given_at": "consent_given_at",
}


@login_required
def referral_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.referral_list(user=actor(request)).order_by("-created_at"))
    return render(request, "web/referral_list.html", {"page": page})


@login_required
def referral_new(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    case = case_selectors.case_get(user=user, case_id=case_id)
    rows = case_selectors.case_rows(ctx=ctx(request), user=user, cases=[case])
    status = 200
    if request.method == "POST":
        form = f.ReferralForm(request.POST, case=case)
        if form.is_valid():
            referral = _create(request, form, case)
            if referral is not None:
                messages.success(request, _("The referral was drafted."))
                problem = services.consent_problem(referral)
                if problem:
                    messages.warning(
                        request, _("It cannot be sent yet: %(problem)s") % {"problem": problem}
                    )
                return redirect("web:referral", referral_id=referral.pk)
        status = 400
    else:
        form = f.ReferralForm(case=case)
    return render(
        request,
        "web/referral_new.html",
        {"case": case, "name": rows[0].name if rows else "", "form": form},
        status=status,
    )


def _create(request: HttpRequest, form: f.ReferralForm, case: Any) -> Referral | None:
    data = form.cleaned_data
    stage = "consent"
    try:
        with transaction.atomic():
            consent = data["existing_consent"]
            if consent is None:
                consent = services.consent_record(
                    ctx=ctx(request),
                    actor=actor(request),
                    case=case,
                    partner=data["partner"],
                    purpose=data["purpose"],
                    fields=data["consent_fields"],
                    method=data["consent_method"],
                    words=data["consent_words"],
                    given_at=data["consent_given_at"],
                )
            stage = "referral"
            return services.referral_create(
                ctx=ctx(request),
                actor=actor(request),
                case=case,
                partner=data["partner"],
                purpose=data["purpose"],
                disclosed_fields=data["disclosed_fields"],
                consent=consent,
                cover_note=data["cover_note"],
            )
    except ValidationError as exc:
        f.add_service_errors(form, exc, rename=CONSENT_ERRORS if stage == "consent" else None)
        return None


@login_required
def referral_detail(request: HttpRequest, referral_id: Any) -> HttpResponse:
    user = actor(request)
    referral = selectors.referral_get(user=user, referral_id=referral_id)
    packet = selectors.referral_packet(ctx=ctx(request), user=user, referral=referral)
    staff = access.can_view_case(user, referral.case)
    name = ""
    if staff:
        rows = case_selectors.case_rows(ctx=ctx(request), user=user, cases=[referral.case])
        name = rows[0].name if rows else ""
    labels = {k: str(v) for k, v in DISCLOSABLE_FIELDS.items()}
    return render(
        request,
        "web/referral_detail.html",
        {
            "referral": referral,
            "packet": packet,
            "packet_fields": [(labels.get(k, k), v) for k, v in packet["fields"].items()],
            "disclosed": [labels.get(k, k) for k in referral.disclosed_fields],
            "consent_fields": [
                labels.get(k, k) for k in (referral.consent.fields if referral.consent else [])
            ],
            "problem": services.consent_problem(referral),
            "staff": staff,
            "name": name,
            "is_approver": access.has_role(user, access.REFERRAL_APPROVERS),
            "respond_form": f.RespondForm(initial={"version": referral.version}),
        },
    )


ACTIONS = {
    "approve": services.referral_approve,
    "send": services.referral_send,
    "withdraw": services.referral_withdraw,
}


@login_required
@require_POST
def referral_action(request: HttpRequest, referral_id: Any, action: str) -> HttpResponse:
    user = actor(request)
    referral = selectors.referral_get(user=user, referral_id=referral_id)
    form: f.VersionForm = (
        f.RespondForm(request.POST) if action == "respond" else f.VersionForm(request.POST)
    )
    if not form.is_valid():
        messages.error(request, _("The form was incomplete; nothing was changed."))
        return redirect("web:referral", referral_id=referral.pk)
    version = form.cleaned_data["version"]
    try:
        if action == "respond":
            services.referral_respond(
                ctx=ctx(request),
                actor=user,
                referral=referral,
                expected_version=version,
                status=form.cleaned_data["status"],
            )
        elif action == "revoke_consent":
            if referral.consent is None:
                raise ValidationError({"consent": _("This referral has no consent to revoke.")})
            services.consent_revoke(
                ctx=ctx(request), actor=user, consent=referral.consent, expected_version=version
            )
        elif action in ACTIONS:
            ACTIONS[action](
                ctx=ctx(request), actor=user, referral=referral, expected_version=version
            )
        else:
            messages.error(request, _("Unknown action."))
            return redirect("web:referral", referral_id=referral.pk)
    except ConflictError:
        messages.error(
            request,
            _(
                "Someone else changed this referral since you opened it; nothing was saved. Look at it again and retry."
            ),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Done."))
    return redirect("web:referral", referral_id=referral.pk)
