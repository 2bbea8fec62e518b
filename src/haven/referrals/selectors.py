from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404

from haven import access
from haven.accounts.models import Role, User
from haven.audit.services import audit_record
from haven.cases.journey import State
from haven.cases.models import Case
from haven.crypto import KeyContext
from haven.referrals.models import (
    DISCLOSABLE_FIELDS,
    Consent,
    Partner,
    Referral,
    ReferralStatus,
)
from haven.vault.sealed import payload_read


def partner_list(*, active_only: bool = False) -> QuerySet[Partner]:
    qs = Partner.objects.all()
    return qs.filter(active=True) if active_only else qs


def referral_list(*, user: User) -> QuerySet[Referral]:
    """Referrals a person may see: partner liaisons only those actually sent to their agency."""
    qs = Referral.objects.select_related("partner", "case", "data_key")
    if user.role == Role.PARTNER_LIAISON:
        if user.partner_id is None:
            return qs.none()
        # sent_at, not status: a draft withdrawn before sending was never the partner's to see.
        return qs.filter(partner_id=user.partner_id, sent_at__isnull=False)
    if not access.has_role(user, access.CASE_READERS):
        raise PermissionDenied("Your role cannot see referrals.")
    return qs.filter(access.visible_to(user, field="case__data_key_id"))


def awaiting_approval(*, user: User) -> QuerySet[Referral]:
    """Referrals submitted for approval on cases ``user`` holds, the longest waiting first."""
    return (
        referral_list(user=user)
        .filter(status=ReferralStatus.SUBMITTED)
        .select_related("case__person", "case__person__data_key", "created_by")
        .order_by("updated_at")
    )


PERSON_FIELDS = (
    "name_hangul",
    "name_romanized",
    "aliases",
    "sex",
    "birth",
    "origin_region",
    "occupation",
    "family",
)


def referral_packet_fields(*, ctx: KeyContext, referral: Referral) -> dict[str, Any]:
    """The disclosed fields as the case holds them now (the preview, and the snapshot on send)."""
    case = referral.case
    person = payload_read(ctx=ctx, record=case.person)
    case_data = payload_read(ctx=ctx, record=case)
    available = {
        **{k: person.get(k) for k in PERSON_FIELDS},
        "current_country": case.country,
        "exact_place": case_data.get("exact_place", ""),
        "own_words": case_data.get("own_words", ""),
    }
    return {
        name: available[name] for name in referral.disclosed_fields if name in DISCLOSABLE_FIELDS
    }


def referral_packet(*, ctx: KeyContext, user: User, referral: Referral) -> dict[str, Any]:
    """What the partner receives: exactly the disclosed fields, nothing else. The read is audited.

    Once sent, the packet is the snapshot sealed at sending: what the case records later never
    reaches the partner. The partner cannot open it once the consent is revoked or the referral
    withdrawn. Before sending, staff see a preview built from the case as it is now.
    """
    if user.role == Role.PARTNER_LIAISON:
        if user.partner_id != referral.partner_id or referral.sent_at is None:
            raise PermissionDenied("This referral was not sent to your agency.")
        if referral.status == ReferralStatus.WITHDRAWN or (
            referral.consent is not None and referral.consent.revoked_at is not None
        ):
            raise PermissionDenied("This referral was withdrawn or its consent revoked.")
    elif not access.can_view_case(user, referral.case):
        raise PermissionDenied("You do not have access to this case.")
    data = payload_read(ctx=ctx, record=referral)
    if referral.sent_at is not None and "packet" in data:
        packet = data["packet"]
    elif user.role == Role.PARTNER_LIAISON:
        # Sent referrals always carry their sealed packet; a partner never gets a live preview.
        raise PermissionDenied("This referral was not sent to your agency.")
    else:
        packet = referral_packet_fields(ctx=ctx, referral=referral)
    audit_record(
        actor=user, action="referral.packet", target=referral, detail={"fields": list(packet)}
    )
    return {
        "referral": str(referral.pk),
        "partner": referral.partner.name,
        "purpose": referral.purpose,
        "arrived": referral.case.state in (State.ARRIVED, State.HANDED_OVER, State.CLOSED),
        "fields": packet,
        "cover_note": data.get("cover_note", ""),
    }


def case_referrals(*, user: User, case: Case) -> tuple[list[Referral], list[Consent]]:
    """The referrals and consents of one case (plain columns only; nothing is decrypted)."""
    if not access.can_view_case(user, case):
        raise PermissionDenied("You do not have access to this case.")
    referrals = list(referral_list(user=user).filter(case=case).order_by("-created_at"))
    consents = list(
        Consent.objects.filter(case=case).select_related("partner").order_by("-given_at")
    )
    return referrals, consents


def referral_get(*, user: User, referral_id: Any) -> Referral:
    """One referral ``user`` may see, or 404."""
    try:
        return (
            referral_list(user=user).select_related("consent", "case__person").get(pk=referral_id)
        )
    except (Referral.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such referral.") from exc


def consent_queryset(*, user: User, case: Case) -> QuerySet[Consent]:
    """The consents recorded for a case ``user`` may see, newest first; nothing decrypted."""
    if not access.can_view_case(user, case):
        raise Http404("No such case.")
    return Consent.objects.filter(case=case).select_related("data_key").order_by("-given_at")


def consent_rows(
    *, ctx: KeyContext, user: User, consents: list[Consent] | QuerySet[Consent]
) -> list[tuple[Consent, str]]:
    """Consents with the person's words decrypted; audited as one read."""
    rows = [(c, payload_read(ctx=ctx, record=c).get("words", "")) for c in consents]
    if rows:
        audit_record(
            actor=user,
            action="consent.list",
            target=rows[0][0].case,
            detail={"consents": [str(c.pk) for c, _ in rows]},
        )
    return rows


def consent_get(*, user: User, consent_id: Any) -> Consent:
    """One consent on a case ``user`` may see, or 404."""
    try:
        consent = Consent.objects.select_related("case", "data_key", "partner").get(pk=consent_id)
    except (Consent.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such consent.") from exc
    if not access.can_view_case(user, consent.case):
        raise Http404("No such consent.")
    return consent


def referral_detail(*, ctx: KeyContext, user: User, referral: Referral) -> dict[str, Any]:
    """A referral's cover note and, for staff, why it cannot be sent yet; the read is audited."""
    from haven.referrals.services import consent_problem

    cover_note = payload_read(ctx=ctx, record=referral).get("cover_note", "")
    problem = None if user.role == Role.PARTNER_LIAISON else consent_problem(referral)
    audit_record(actor=user, action="referral.view", target=referral)
    return {"cover_note": cover_note, "consent_problem": problem}
