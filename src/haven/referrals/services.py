"""Partners, consent and referrals. A referral cannot be sent without a consent that covers it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven import access
from haven.accounts.models import Role, User
from haven.audit.services import audit_record
from haven.cases.journey import State
from haven.cases.models import Case, Confidence, Source
from haven.cases.services import _check_case, _transition
from haven.crypto import KeyContext
from haven.errors import ConflictError
from haven.referrals.models import (
    DISCLOSABLE_FIELDS,
    Consent,
    ConsentMethod,
    Partner,
    Purpose,
    Referral,
    ReferralStatus,
)
from haven.validation import (
    clean_choice,
    clean_country,
    clean_label,
    clean_past_datetime,
    clean_text,
    label_key,
)
from haven.vault.holders import live_holders
from haven.vault.sealed import data_key_create, payload_read, payload_set, record_update
from haven.vault.services import team_key_ensure

# Status machine of a referral: from -> allowed next statuses.
REFERRAL_MOVES: dict[str, set[str]] = {
    # A caseworker submits a draft for approval; a supervisor approves it (or their own draft
    # at once) or returns it to its author as a draft.
    ReferralStatus.DRAFT: {
        ReferralStatus.SUBMITTED,
        ReferralStatus.APPROVED,
        ReferralStatus.WITHDRAWN,
    },
    ReferralStatus.SUBMITTED: {
        ReferralStatus.APPROVED,
        ReferralStatus.DRAFT,
        ReferralStatus.WITHDRAWN,
    },
    ReferralStatus.APPROVED: {ReferralStatus.SENT, ReferralStatus.WITHDRAWN},
    ReferralStatus.SENT: {ReferralStatus.ACKNOWLEDGED, ReferralStatus.WITHDRAWN},
    ReferralStatus.ACKNOWLEDGED: {
        ReferralStatus.ACCEPTED,
        ReferralStatus.DECLINED,
        ReferralStatus.WITHDRAWN,
    },
    ReferralStatus.ACCEPTED: set(),
    ReferralStatus.DECLINED: set(),
    ReferralStatus.WITHDRAWN: set(),
}


class ReferralError(ValidationError):
    """A referral step that is not allowed now; nothing was changed."""


def _clean_fields(fields: Any, *, name: str) -> list[str]:
    if not isinstance(fields, list | tuple) or not fields:
        raise ValidationError({name: _("Choose at least one field.")})
    unknown = [f for f in fields if f not in DISCLOSABLE_FIELDS]
    if unknown:
        raise ValidationError(
            {name: _("Unknown fields: %(fields)s.") % {"fields": ", ".join(map(str, unknown))}}
        )
    return sorted(set(fields))


def _check_partner_name_free(name: str, *, other_than: Partner | None = None) -> None:
    """Two partners whose names read the same ("Ｍinistry" and "Ministry") would let a referral go
    to the wrong agency; partners are few, so every name is compared."""
    key = label_key(name)
    others = Partner.objects.exclude(pk=other_than.pk) if other_than else Partner.objects.all()
    if any(label_key(other) == key for other in others.values_list("name", flat=True)):
        raise ValidationError({"name": "A partner with this name exists."})


def field_labels(fields: Any) -> str:
    """Field names as the page's language names them ("Sex, Birth date or year")."""
    return ", ".join(str(DISCLOSABLE_FIELDS.get(f, f)) for f in fields)


@transaction.atomic
def partner_create(*, actor: User, name: str, country: str) -> Partner:
    """Register a partner agency."""
    if not access.has_role(actor, access.PARTNER_EDITORS):
        raise PermissionDenied("Only supervisors and administrators manage partners.")
    name = clean_label(name, field="name", max_length=200, required=True)
    country = clean_country(country, required=True)
    _check_partner_name_free(name)
    partner = Partner.objects.create(name=name, country=country)
    audit_record(actor=actor, action="partner.create", target=partner)
    return partner


@transaction.atomic
def partner_update(
    *, actor: User, partner: Partner, expected_version: int, name: str, country: str, active: bool
) -> Partner:
    """Rename, move or deactivate a partner."""
    if not access.has_role(actor, access.PARTNER_EDITORS):
        raise PermissionDenied("Only supervisors and administrators manage partners.")
    name = clean_label(name, field="name", max_length=200, required=True)
    country = clean_country(country, required=True)
    _check_partner_name_free(name, other_than=partner)
    updated = Partner.objects.filter(pk=partner.pk, version=expected_version).update(
        name=name, country=country, active=bool(active), version=expected_version + 1
    )
    if updated != 1:
        raise ConflictError()
    partner.refresh_from_db()
    audit_record(actor=actor, action="partner.update", target=partner)
    return partner


@transaction.atomic
def consent_record(
    *,
    ctx: KeyContext,
    actor: User,
    case: Case,
    partner: Partner,
    purpose: str,
    fields: list[str],
    method: str,
    words: str,
    given_at: dt.datetime | None = None,
) -> Consent:
    """Record the person's consent to share the named fields with one partner for one purpose."""
    _check_case(actor, case)
    consent = Consent(
        case=case,
        data_key=case.data_key,
        partner=partner,
        purpose=clean_choice(purpose, field="purpose", choices=Purpose.values),
        fields=_clean_fields(fields, name="fields"),
        method=clean_choice(method, field="method", choices=ConsentMethod.values),
        given_at=clean_past_datetime(given_at, field="given_at"),
        recorded_by=actor,
    )
    words = clean_text(words, field="words", max_length=10_000, required=True)
    payload_set(ctx=ctx, record=consent, data={"words": words})
    consent.save(force_insert=True)
    audit_record(
        actor=actor,
        action="consent.record",
        target=case,
        detail={"consent": str(consent.pk), "fields": consent.fields},
    )
    return consent


@transaction.atomic
def consent_revoke(
    *, ctx: KeyContext, actor: User, consent: Consent, expected_version: int
) -> Consent:
    """Revoke a consent: referrals resting on it can no longer be sent."""
    _check_case(actor, consent.case)
    if consent.revoked_at is not None:
        raise ValidationError({"consent": "This consent is already revoked."})
    record_update(
        ctx=ctx,
        record=consent,
        expected_version=expected_version,
        fields={"revoked_at": timezone.now(), "revoked_by": actor},
    )
    audit_record(
        actor=actor,
        action="consent.revoke",
        target=consent.case,
        detail={"consent": str(consent.pk)},
    )
    return consent


@transaction.atomic
def referral_create(
    *,
    ctx: KeyContext,
    actor: User,
    case: Case,
    partner: Partner,
    purpose: str,
    disclosed_fields: list[str],
    consent: Consent | None = None,
    cover_note: str = "",
) -> Referral:
    """Draft a referral of a case to a partner, naming exactly which fields it discloses."""
    _check_case(actor, case)
    if not partner.active:
        raise ValidationError({"partner": "This partner is inactive."})
    if consent is not None and consent.case_id != case.pk:
        raise ValidationError({"consent": "This consent belongs to another case."})
    now = timezone.now()
    referral = Referral(
        case=case,
        data_key=case.data_key,
        partner=partner,
        purpose=clean_choice(purpose, field="purpose", choices=Purpose.values),
        consent=consent,
        disclosed_fields=_clean_fields(disclosed_fields, name="disclosed_fields"),
        created_at=now,
        updated_at=now,
        created_by=actor,
    )
    payload_set(
        ctx=ctx,
        record=referral,
        data={"cover_note": clean_text(cover_note, field="cover_note", max_length=10_000)},
    )
    referral.save(force_insert=True)
    audit_record(
        actor=actor,
        action="referral.create",
        target=referral,
        detail={"partner": str(partner.pk), "fields": referral.disclosed_fields},
    )
    return referral


def _move(
    *,
    ctx: KeyContext,
    actor: User,
    referral: Referral,
    expected_version: int,
    status: str,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> Referral:
    if status not in REFERRAL_MOVES[referral.status]:
        raise ReferralError(
            {
                "status": _("A referral that is “%(now)s” cannot become “%(next)s”.")
                % {"now": referral.get_status_display(), "next": ReferralStatus(status).label}
            }
        )
    record_update(
        ctx=ctx,
        record=referral,
        expected_version=expected_version,
        data=data,
        fields={"status": status, "updated_at": timezone.now(), **fields},
    )
    audit_record(actor=actor, action=f"referral.{status}", target=referral)
    return referral


def consent_problem(referral: Referral) -> str | None:
    """Why the referral's consent does not cover sending it, or None if it does."""
    consent = referral.consent
    if consent is None:
        return _("There is no consent for this referral.")
    if consent.revoked_at is not None:
        return _("The consent was revoked.")
    if consent.partner_id != referral.partner_id:
        return _("The consent was given for another partner.")
    if consent.purpose != referral.purpose:
        return _("The consent was given for another purpose.")
    missing = [
        f for f in DISCLOSABLE_FIELDS if f in set(referral.disclosed_fields) - set(consent.fields)
    ]
    if missing:
        return _("The consent does not cover: %(fields)s.") % {"fields": field_labels(missing)}
    return None


@transaction.atomic
def referral_attach_consent(
    *, ctx: KeyContext, actor: User, referral: Referral, expected_version: int, consent: Consent
) -> Referral:
    """Rest a draft referral on a consent recorded for its case."""
    _check_case(actor, referral.case)
    if consent.case_id != referral.case_id:
        raise ValidationError({"consent": "This consent belongs to another case."})
    if referral.status not in (ReferralStatus.DRAFT, ReferralStatus.APPROVED):
        raise ReferralError({"consent": "Consent can only be changed before the referral is sent."})
    record_update(
        ctx=ctx, record=referral, expected_version=expected_version, fields={"consent": consent}
    )
    audit_record(
        actor=actor, action="referral.consent", target=referral, detail={"consent": str(consent.pk)}
    )
    return referral


@transaction.atomic
def referral_submit(
    *, ctx: KeyContext, actor: User, referral: Referral, expected_version: int
) -> Referral:
    """Submit a draft referral for a supervisor's approval. Refused while its consent does not
    cover it (the author fixes that first), so nothing waits for approval that cannot be sent."""
    _check_case(actor, referral.case)
    problem = consent_problem(referral)
    if problem:
        raise ReferralError({"consent": problem})
    return _move(
        ctx=ctx,
        actor=actor,
        referral=referral,
        expected_version=expected_version,
        status=ReferralStatus.SUBMITTED,
    )


@transaction.atomic
def referral_return(
    *, ctx: KeyContext, actor: User, referral: Referral, expected_version: int
) -> Referral:
    """A supervisor returns a referral awaiting approval to its author, as a draft."""
    if not access.has_role(actor, access.REFERRAL_APPROVERS):
        raise PermissionDenied("Only supervisors approve referrals.")
    if referral.status != ReferralStatus.SUBMITTED:
        raise ReferralError({"status": _("Only a referral awaiting approval can be returned.")})
    return _move(
        ctx=ctx,
        actor=actor,
        referral=referral,
        expected_version=expected_version,
        status=ReferralStatus.DRAFT,
    )


@transaction.atomic
def referral_approve(
    *, ctx: KeyContext, actor: User, referral: Referral, expected_version: int
) -> Referral:
    """A supervisor approves a draft referral."""
    if not access.has_role(actor, access.REFERRAL_APPROVERS):
        raise PermissionDenied("Only supervisors approve referrals.")
    return _move(
        ctx=ctx,
        actor=actor,
        referral=referral,
        expected_version=expected_version,
        status=ReferralStatus.APPROVED,
        approved_by=actor,
    )


@transaction.atomic
def referral_send(
    *, ctx: KeyContext, actor: User, referral: Referral, expected_version: int
) -> Referral:
    """Send an approved referral; refused unless a valid consent covers partner, purpose and fields.

    A case still at ``accepted`` moves to ``referred`` in the same transaction.
    """
    from haven.referrals.selectors import referral_packet_fields

    _check_case(actor, referral.case)
    if referral.consent is not None:
        # Opening the consent proves its partner, purpose and fields were not altered in the
        # database: they are bound to its payload (raises CryptoError otherwise).
        payload_read(ctx=ctx, record=referral.consent)
    problem = consent_problem(referral)
    if problem:
        raise ReferralError({"consent": problem})

    # Seal what is sent, so later edits to the case never reach the partner through this referral.
    data = payload_read(ctx=ctx, record=referral)
    data["packet"] = referral_packet_fields(ctx=ctx, referral=referral)
    # The case moves first: the audit entry (and its chain-head lock) must be the last write, or
    # two transactions taking the case row and the head in opposite orders could deadlock.
    case = Case.objects.select_related("data_key").get(pk=referral.case_id)
    if case.state == State.ACCEPTED:
        _transition(
            ctx=ctx,
            actor=actor,
            case=case,
            to_state=State.REFERRED,
            occurred_at=timezone.now(),
            country=case.country,
            source=Source.STAFF,
            confidence=Confidence.CONFIRMED,
        )
    # What is sent gets its own key, sealed to the partner's key as well as to the case's holders:
    # the partner's liaisons can open the packet and nothing else of the case.
    partner_key = team_key_ensure(actor=actor, partner=referral.partner)
    packet_key = data_key_create(
        ctx=ctx, holders=[*live_holders(case.data_key_id), partner_key], granted_by=actor
    )
    _move(
        ctx=ctx,
        actor=actor,
        referral=referral,
        expected_version=expected_version,
        status=ReferralStatus.SENT,
        data=data,
        sent_at=timezone.now(),
        data_key=packet_key,
    )
    return referral


@transaction.atomic
def referral_respond(
    *, ctx: KeyContext, actor: User, referral: Referral, expected_version: int, status: str
) -> Referral:
    """The partner acknowledges, accepts or declines (recorded by their liaison or by staff)."""
    status = clean_choice(
        status,
        field="status",
        choices=(ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED, ReferralStatus.DECLINED),
    )
    if actor.role == Role.PARTNER_LIAISON:
        if actor.partner_id != referral.partner_id:
            raise PermissionDenied("This referral was not sent to your agency.")
    else:
        _check_case(actor, referral.case)
    return _move(
        ctx=ctx, actor=actor, referral=referral, expected_version=expected_version, status=status
    )


@transaction.atomic
def referral_withdraw(
    *, ctx: KeyContext, actor: User, referral: Referral, expected_version: int
) -> Referral:
    """Withdraw a referral at any point before the partner decides."""
    _check_case(actor, referral.case)
    return _move(
        ctx=ctx,
        actor=actor,
        referral=referral,
        expected_version=expected_version,
        status=ReferralStatus.WITHDRAWN,
    )
