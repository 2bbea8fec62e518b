from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from haven.cases.journey import State
from haven.cases.models import Case
from haven.cases.services import journey_advance
from haven.referrals.models import Referral, ReferralStatus
from haven.referrals.selectors import referral_list, referral_packet
from haven.referrals.services import (
    consent_record,
    consent_revoke,
    referral_approve,
    referral_create,
    referral_respond,
    referral_send,
)
from tests.factories import PartnerFactory, ctx_for, make_case

FIELDS = ["name_hangul", "birth", "own_words"]


def _accepted_case(ctx, actor, owner=None) -> Case:
    case = make_case(ctx=ctx, actor=actor, owner=owner)
    for target in (State.VERIFYING, State.ACCEPTED):
        journey_advance(
            ctx=ctx, actor=actor, case=case, to_state=target, expected_version=case.version
        )
    return case


def _approved(ctx, alice, partner, *, fields=FIELDS, consent_fields=FIELDS, purpose="resettlement"):
    case = _accepted_case(ctx, alice)
    consent = consent_record(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose=purpose,
        fields=consent_fields,
        method="own_words",
        words="I chose to leave. I want to go to Seoul.",
    )
    referral = referral_create(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="resettlement",
        disclosed_fields=fields,
        consent=consent,
    )
    referral_approve(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)
    return case, consent, referral


@pytest.mark.django_db
def test_sending_a_covered_referral_moves_the_case_to_referred(ctx, alice, partner):
    case, _, referral = _approved(ctx, alice, partner)

    referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)

    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.SENT
    assert Case.objects.get(pk=case.pk).state == State.REFERRED


@pytest.mark.django_db
def test_a_referral_without_consent_cannot_be_sent(ctx, alice, partner):
    case = _accepted_case(ctx, alice)
    referral = referral_create(
        ctx=ctx, actor=alice, case=case, partner=partner, purpose="relief", disclosed_fields=["sex"]
    )
    referral_approve(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)

    with pytest.raises(ValidationError, match="no consent"):
        referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.APPROVED
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED


@pytest.mark.django_db
def test_a_revoked_consent_stops_the_referral(ctx, alice, partner):
    _, consent, referral = _approved(ctx, alice, partner)
    consent_revoke(ctx=ctx, actor=alice, consent=consent, expected_version=consent.version)
    referral.refresh_from_db()

    with pytest.raises(ValidationError, match="revoked"):
        referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)


@pytest.mark.django_db
def test_consent_must_cover_every_disclosed_field(ctx, alice, partner):
    _, _, referral = _approved(ctx, alice, partner, fields=[*FIELDS, "exact_place"])

    with pytest.raises(ValidationError, match="Exact place"):
        referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)


@pytest.mark.django_db
def test_consent_for_another_partner_does_not_count(ctx, alice, partner):
    other = PartnerFactory(name="Another agency")
    case = _accepted_case(ctx, alice)
    consent = consent_record(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=other,
        purpose="resettlement",
        fields=FIELDS,
        method="verbal",
        words="yes",
    )
    referral = referral_create(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="resettlement",
        disclosed_fields=FIELDS,
        consent=consent,
    )
    referral_approve(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)

    with pytest.raises(ValidationError, match="another partner"):
        referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)


@pytest.mark.django_db
def test_only_supervisors_approve(ctx, alice, bob, partner):
    case = _accepted_case(ctx, alice, owner=bob)
    referral = referral_create(
        ctx=ctx_for(bob),
        actor=bob,
        case=case,
        partner=partner,
        purpose="relief",
        disclosed_fields=["sex"],
    )
    with pytest.raises(PermissionDenied):
        referral_approve(
            ctx=ctx_for(bob),
            actor=bob,
            referral=referral,
            expected_version=referral.version,
        )


@pytest.mark.django_db
def test_the_packet_holds_exactly_the_disclosed_fields(ctx, alice, partner, frank):
    _, _, referral = _approved(ctx, alice, partner)
    referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)

    packet = referral_packet(ctx=ctx_for(frank), user=frank, referral=referral)

    assert set(packet["fields"]) == set(FIELDS)
    assert packet["fields"]["name_hangul"]
    assert "exact_place" not in packet["fields"]


@pytest.mark.django_db
def test_partner_liaison_sees_only_referrals_sent_to_their_agency(ctx, alice, partner, frank):
    _, _, mine = _approved(ctx, alice, partner)
    other_partner = PartnerFactory(name="Elsewhere")
    _, _, theirs = _approved(ctx, alice, other_partner, purpose="resettlement")
    assert list(referral_list(user=frank)) == []  # approved but not yet sent: invisible

    referral_send(ctx=ctx, actor=alice, referral=mine, expected_version=mine.version)

    assert [r.pk for r in referral_list(user=frank)] == [mine.pk]
    with pytest.raises(PermissionDenied):
        referral_packet(ctx=ctx_for(frank), user=frank, referral=theirs)


@pytest.mark.django_db
def test_partner_responds_in_order(ctx, alice, partner, frank):
    _, _, referral = _approved(ctx, alice, partner)
    referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)
    fctx = ctx_for(frank)

    with pytest.raises(ValidationError, match="cannot become"):
        referral_respond(
            ctx=fctx,
            actor=frank,
            referral=referral,
            expected_version=referral.version,
            status="accepted",
        )
    referral_respond(
        ctx=fctx,
        actor=frank,
        referral=referral,
        expected_version=referral.version,
        status="acknowledged",
    )
    referral_respond(
        ctx=fctx,
        actor=frank,
        referral=referral,
        expected_version=referral.version,
        status="accepted",
    )

    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.ACCEPTED


@pytest.mark.django_db
def test_unknown_disclosed_fields_are_refused(ctx, alice, partner):
    case = _accepted_case(ctx, alice)
    with pytest.raises(ValidationError, match="Unknown fields"):
        referral_create(
            ctx=ctx,
            actor=alice,
            case=case,
            partner=partner,
            purpose="relief",
            disclosed_fields=["password"],
        )
    assert Referral.objects.count() == 0


@pytest.mark.django_db
def test_a_referral_withdrawn_before_sending_never_reaches_the_partner(ctx, alice, partner, frank):
    from haven.referrals.services import referral_withdraw

    _, _, referral = _approved(ctx, alice, partner)
    referral_withdraw(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)

    assert list(referral_list(user=frank)) == []
    with pytest.raises(PermissionDenied):
        referral_packet(ctx=ctx_for(frank), user=frank, referral=referral)


@pytest.mark.django_db
def test_the_partner_gets_what_was_sent_not_what_was_recorded_later(ctx, alice, partner, frank):
    case, _, referral = _approved(
        ctx, alice, partner, fields=["exact_place"], consent_fields=["exact_place"]
    )
    referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)
    case.refresh_from_db()
    journey_advance(
        ctx=ctx,
        actor=alice,
        case=case,
        to_state=State.LEFT_WORKPLACE,
        expected_version=case.version,
        place="Room 5, Hotel X",
    )

    packet = referral_packet(ctx=ctx_for(frank), user=frank, referral=referral)

    assert packet["fields"] == {"exact_place": ""}


@pytest.mark.django_db
def test_revoking_consent_after_sending_closes_the_packet_to_the_partner(
    ctx, alice, partner, frank
):
    _, consent, referral = _approved(ctx, alice, partner)
    referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)
    consent_revoke(ctx=ctx, actor=alice, consent=consent, expected_version=consent.version)
    referral.refresh_from_db()

    with pytest.raises(PermissionDenied, match="revoked"):
        referral_packet(
            ctx=ctx_for(frank),
            user=frank,
            referral=Referral.objects.select_related("consent").get(pk=referral.pk),
        )


@pytest.mark.django_db
def test_a_consent_widened_in_the_database_cannot_carry_a_referral(ctx, alice, partner):
    from haven.crypto import CryptoError
    from haven.referrals.models import Consent

    _, consent, referral = _approved(ctx, alice, partner, fields=["sex"], consent_fields=["sex"])
    Referral.objects.filter(pk=referral.pk).update(disclosed_fields=["sex"])
    Consent.objects.filter(pk=consent.pk).update(fields=["sex", "exact_place"])
    referral = Referral.objects.select_related("consent__data_key", "data_key", "case").get(
        pk=referral.pk
    )

    with pytest.raises(CryptoError):
        referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.APPROVED


@pytest.mark.django_db
def test_a_consent_revived_in_the_database_no_longer_opens(ctx, alice, partner):
    from haven.crypto import CryptoError
    from haven.referrals.models import Consent
    from haven.vault.sealed import payload_read

    _, consent, _ = _approved(ctx, alice, partner)
    consent_revoke(ctx=ctx, actor=alice, consent=consent, expected_version=consent.version)
    Consent.objects.filter(pk=consent.pk).update(revoked_at=None)

    with pytest.raises(CryptoError):
        payload_read(ctx=ctx, record=Consent.objects.select_related("data_key").get(pk=consent.pk))


@pytest.mark.django_db
def test_a_draft_marked_sent_in_the_database_gives_the_partner_nothing(ctx, alice, partner, frank):
    from django.utils import timezone

    _, _, referral = _approved(ctx, alice, partner)
    Referral.objects.filter(pk=referral.pk).update(sent_at=timezone.now())
    forged = Referral.objects.select_related("data_key", "case", "partner", "consent").get(
        pk=referral.pk
    )

    from haven.crypto import CryptoError

    with pytest.raises(CryptoError):
        referral_packet(ctx=ctx_for(frank), user=frank, referral=forged)
