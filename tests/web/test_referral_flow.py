"""A referral through approval without a dead end (issue 18, item 5)."""

from __future__ import annotations

from html import unescape

import pytest
from django.urls import reverse

from haven.referrals.models import Consent, Referral, ReferralStatus
from haven.referrals.services import consent_record, referral_create
from tests.factories import login, make_case
from tests.web.helpers import name_of, snapshot

pytestmark = pytest.mark.django_db


def _wizard(partner, **overrides):
    return {
        "partner": str(partner.pk),
        "purpose": "relief",
        "disclosed_fields": ["name_hangul", "sex"],
        "cover_note": "",
        "existing_consent": "",
        "consent_method": "verbal",
        "consent_words": "Yes, tell the ministry my name.",
        "consent_given_at": "",
        **overrides,
    }


def _act(client, referral, action):
    referral.refresh_from_db()
    return client.post(
        reverse("web:referral_action", args=[referral.pk, action]),
        {"version": referral.version},
        follow=True,
    )


def test_a_caseworkers_referral_goes_through_approval_to_the_partner(
    client, ctx, alice, bob, partner
):
    case = make_case(ctx=ctx, actor=bob)
    login(client, bob)
    response = client.post(reverse("web:referral_new", args=[case.pk]), _wizard(partner))
    assert response.status_code == 302
    referral = Referral.objects.get()
    # One step: the consent recorded covers exactly the fields shared.
    assert referral.consent.fields == referral.disclosed_fields == ["name_hangul", "sex"]

    page = _act(client, referral, "submit").content.decode()
    assert "waits for a supervisor" in page and "Done." not in page
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.SUBMITTED

    login(client, alice)
    dashboard = client.get(reverse("web:dashboard")).content.decode()
    assert 'id="awaiting-approval"' in dashboard and name_of(ctx, case) in dashboard
    assert "Approved: it can now be sent" in _act(client, referral, "approve").content.decode()
    assert "Sent: the partner" in _act(client, referral, "send").content.decode()
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.SENT


def test_an_earlier_consent_that_does_not_cover_the_fields_is_refused_by_name(
    client, ctx, alice, partner
):
    case = make_case(ctx=ctx, actor=alice)
    earlier = consent_record(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        fields=["name_hangul"],
        method="verbal",
        words="Only my name.",
    )
    login(client, alice)
    before = snapshot()

    response = client.post(
        reverse("web:referral_new", args=[case.pk]),
        _wizard(
            partner,
            existing_consent=str(earlier.pk),
            disclosed_fields=["name_hangul", "sex", "birth"],
        ),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "does not cover Sex, Birth date or year" in page
    assert snapshot() == before


def test_a_draft_that_cannot_be_sent_can_be_given_the_consent_it_needs(client, ctx, alice, partner):
    case = make_case(ctx=ctx, actor=alice)
    narrow = consent_record(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        fields=["name_hangul"],
        method="verbal",
        words="Only my name.",
    )
    referral = referral_create(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        disclosed_fields=["name_hangul", "sex"],
        consent=narrow,
    )
    login(client, alice)
    page = client.get(reverse("web:referral", args=[referral.pk])).content.decode()
    assert "does not cover: Sex." in page and "sex." not in page.replace("Sex.", "")
    assert 'id="consent-form"' in page and 'id="approve-referral"' not in page

    response = client.post(
        reverse("web:referral_action", args=[referral.pk, "consent"]),
        {"version": referral.version, "consent_method": "verbal", "consent_words": "Yes, both."},
        follow=True,
    )

    assert "The person's consent was recorded" in unescape(response.content.decode())
    referral.refresh_from_db()
    assert set(referral.consent.fields) == {"name_hangul", "sex"}
    assert Consent.objects.filter(case=case).count() == 2
    assert (
        'id="approve-referral"'
        in client.get(reverse("web:referral", args=[referral.pk])).content.decode()
    )


def test_the_referral_list_names_the_person_and_filters(client, ctx, alice, partner):
    case = make_case(ctx=ctx, actor=alice)
    consent = consent_record(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        fields=["sex"],
        method="verbal",
        words="Yes.",
    )
    referral_create(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        disclosed_fields=["sex"],
        consent=consent,
    )
    login(client, alice)

    listed = client.get(reverse("web:referrals")).content.decode()
    none_sent = client.get(reverse("web:referrals"), {"status": "sent"})

    assert name_of(ctx, case) in listed
    assert list(none_sent.context["rows"]) == []


def test_a_caseworker_cannot_approve_and_is_not_offered_to(client, ctx, bob, partner):
    case = make_case(ctx=ctx, actor=bob)
    login(client, bob)
    client.post(reverse("web:referral_new", args=[case.pk]), _wizard(partner))
    referral = Referral.objects.get()

    page = client.get(reverse("web:referral", args=[referral.pk])).content.decode()
    assert 'id="submit-referral"' in page and 'id="approve-referral"' not in page
    response = client.post(
        reverse("web:referral_action", args=[referral.pk, "approve"]), {"version": referral.version}
    )
    assert response.status_code == 403


def test_the_packet_shows_labels_not_codes(client, ctx, alice, partner):
    case = make_case(ctx=ctx, actor=alice, country="CN")
    consent = consent_record(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        fields=["sex", "occupation", "current_country"],
        method="verbal",
        words="Yes.",
    )
    referral = referral_create(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        disclosed_fields=["sex", "occupation", "current_country"],
        consent=consent,
    )
    login(client, alice)

    page = client.get(reverse("web:referral", args=[referral.pk])).content.decode()

    assert "<dd>Female</dd>" in page and "<dd>Restaurant worker</dd>" in page
    assert "<dd>China</dd>" in page
    assert "<dd>female</dd>" not in page and "restaurant_worker" not in page
