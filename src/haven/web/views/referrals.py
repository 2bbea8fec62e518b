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
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from haven import access
from haven.cases import selectors as case_selectors
from haven.errors import ConflictError
from haven.referrals import selectors, services
from haven.referrals.models import DISCLOSABLE_FIELDS, Referral
from haven.web import forms as f
from haven.web.views.common import actor, ctx, paginate, query_without_page

CONSENT_ERRORS = {
    "fields": "disclosed_fields",
    "method": "consent_method",
    "words": "consent_words",
    "given_at": "consent_given_at",
}


@login_required
def referral_list(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    form = f.ReferralFilterForm(request.GET or None)
    qs = selectors.referral_list(user=user).order_by("-created_at")
    if form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            qs = qs.filter(status=data["status"])
        if data["partner"]:
            qs = qs.filter(partner=data["partner"])
        if data["purpose"]:
            qs = qs.filter(purpose=data["purpose"])
    elif form.is_bound:
        qs = qs.none()
    page = paginate(request, qs)
    referrals = list(page.object_list)
    names: dict[Any, str] = {}
    if access.allowed(user, "case.read") and referrals:
        # The person's name beside each referral, for staff who hold the case (liaisons read
        # only what a packet discloses, on its page).
        rows = case_selectors.case_rows(
            ctx=ctx(request), user=user, cases=list({r.case_id: r.case for r in referrals}.values())
        )
        names = {row.case.pk: row.name for row in rows}
    return render(
        request,
        "web/referral_list.html",
        {
            "form": form,
            "page": page,
            "rows": [(r, names.get(r.case_id, "")) for r in referrals],
            "query": query_without_page(request),
            "staff": access.allowed(user, "case.read"),
        },
    )


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
                messages.success(
                    request,
                    _(
                        "The referral to %(partner)s was drafted, resting on the person's "
                        "consent. Submit it for approval when it is ready."
                    )
                    % {"partner": referral.partner.name}
                    if not access.allowed(user, "referral.approve")
                    else _(
                        "The referral to %(partner)s was drafted, resting on the person's "
                        "consent. Approve it, then send it."
                    )
                    % {"partner": referral.partner.name},
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
    """The consent (a new one for exactly the fields shared) and the draft, both or neither."""
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
                    fields=data["disclosed_fields"],
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
            "packet_fields": [
                (labels.get(k, k), packet_value(k, v)) for k, v in packet["fields"].items()
            ],
            "disclosed": [labels.get(k, k) for k in referral.disclosed_fields],
            "consent_fields": [
                labels.get(k, k) for k in (referral.consent.fields if referral.consent else [])
            ],
            "problem": services.consent_problem(referral),
            "staff": staff,
            "name": name,
            "is_approver": access.has_role(user, access.REFERRAL_APPROVERS),
            "respond_form": f.RespondForm(initial={"version": referral.version}),
            "consent_form": f.ReferralConsentForm(initial={"version": referral.version}),
        },
    )


def packet_value(field: str, value: Any) -> Any:
    """A disclosed value as a reader of the page's language reads it: labels for codes (Female,
    not "female"; Thailand, not TH; a birth with its precision), the rest as stored."""
    from haven.countries import country_name
    from haven.web.templatetags.haven_web import person_choice

    if field in ("sex", "occupation"):
        return person_choice(value, field)
    if field == "current_country":
        return country_name(value or "") or "—"
    if field == "birth" and isinstance(value, dict):
        shown = value.get("value") or "—"
        precision = value.get("precision")
        if value.get("value") and precision and precision != "unknown":
            return f"{shown} ({person_choice(precision, 'precision')})"
        return shown
    return value


ACTIONS = {
    "submit": services.referral_submit,
    "approve": services.referral_approve,
    "return": services.referral_return,
    "send": services.referral_send,
    "withdraw": services.referral_withdraw,
}
DONE = {
    "submit": _lazy("Submitted: it waits for a supervisor's approval."),
    "approve": _lazy("Approved: it can now be sent to the partner."),
    "return": _lazy("Returned to its author as a draft."),
    "send": _lazy("Sent: the partner's liaisons can now open the packet."),
    "withdraw": _lazy("Withdrawn: the partner can no longer open it."),
    "respond": _lazy("The partner's answer was recorded."),
    "revoke_consent": _lazy(
        "The consent was revoked: no referral resting on it can be sent or opened by the partner."
    ),
    "consent": _lazy("The person's consent was recorded; the referral rests on it now."),
}


@login_required
@require_POST
def referral_action(request: HttpRequest, referral_id: Any, action: str) -> HttpResponse:
    user = actor(request)
    referral = selectors.referral_get(user=user, referral_id=referral_id)
    form: f.VersionForm = (
        f.RespondForm(request.POST)
        if action == "respond"
        else f.ReferralConsentForm(request.POST)
        if action == "consent"
        else f.VersionForm(request.POST)
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
        elif action == "consent":
            with transaction.atomic():
                consent = services.consent_record(
                    ctx=ctx(request),
                    actor=user,
                    case=referral.case,
                    partner=referral.partner,
                    purpose=referral.purpose,
                    fields=referral.disclosed_fields,
                    method=form.cleaned_data["consent_method"],
                    words=form.cleaned_data["consent_words"],
                    given_at=form.cleaned_data["consent_given_at"],
                )
                services.referral_attach_consent(
                    ctx=ctx(request),
                    actor=user,
                    referral=referral,
                    expected_version=version,
                    consent=consent,
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
        messages.success(request, DONE[action])
    return redirect("web:referral", referral_id=referral.pk)
