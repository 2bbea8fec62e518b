"""Each staff page renders for the roles that may see it and refuses the others."""

from __future__ import annotations

import pytest
from django.urls import reverse

from haven.brokers.models import BrokerStatus
from haven.cases.models import Case, JourneyEvent, Note, Request, RequestStatus
from haven.referrals.models import Consent, Referral, ReferralStatus
from haven.referrals.services import consent_record, referral_create
from tests.factories import PASSWORD, login, make_broker, make_case, make_request, totp_code
from tests.web.helpers import name_of, request_form, transition_form

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse("web:cases"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_login_page_renders_and_logs_in(client, alice):
    page = client.get(reverse("web:login"))
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post(reverse("web:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("web:login_two_factor")
    done = client.post(reverse("web:login_two_factor"), {"code": totp_code(alice)})
    assert done.status_code == 302 and done["Location"] == reverse("web:dashboard")


def test_logout_is_a_post_only(client, alice):
    login(client, alice)
    assert client.get(reverse("web:logout")).status_code == 405
    assert client.post(reverse("web:logout")).status_code == 302
    assert client.get(reverse("web:cases")).status_code == 302


def test_dashboard_shows_counts_and_urgent_names(client, alice, ctx):
    case = make_case(ctx=ctx, actor=alice, urgency=4)
    login(client, alice)
    response = client.get(reverse("web:dashboard"))
    assert response.status_code == 200
    assert response.context["board"].by_state["received"] == 1
    assert name_of(ctx, case) in response.content.decode()


def test_dashboard_for_an_administrator_shows_no_case_data(client, erin, alice, ctx):
    case = make_case(ctx=ctx, actor=alice, urgency=4)
    login(client, erin)
    response = client.get(reverse("web:dashboard"))
    assert response.status_code == 200
    assert name_of(ctx, case) not in response.content.decode()
    assert "board" not in response.context


@pytest.mark.parametrize("name", ["erin", "grace", "heidi", "frank"])
def test_roles_without_case_access_get_403_on_case_pages(client, request, name):
    login(client, request.getfixturevalue(name))
    for url in ("web:cases", "web:requests", "web:brokers", "web:request_new"):
        assert client.get(reverse(url)).status_code == 403, url


def test_caseworker_sees_own_team_case_and_not_the_other_team(client, alice, bob, carol, ctx):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    login(client, bob)
    assert client.get(reverse("web:case", args=[case.pk])).status_code == 200
    login(client, carol)
    assert client.get(reverse("web:case", args=[case.pk])).status_code == 404
    assert client.get(reverse("web:case_edit", args=[case.pk])).status_code == 404
    response = client.post(reverse("web:case_move", args=[case.pk]), transition_form(case))
    assert response.status_code == 404
    assert Case.objects.get(pk=case.pk).state == "received"
    assert name_of(ctx, case) not in client.get(reverse("web:cases")).content.decode()


def test_unknown_case_is_404_with_the_custom_page(client, alice):
    login(client, alice)
    response = client.get(reverse("web:case", args=["00000000-0000-0000-0000-000000000000"]))
    assert response.status_code == 404
    assert b"Not found" in response.content


def test_request_inbox_filters_by_status_and_paginates(client, alice, ctx):
    for _ in range(3):
        make_request(ctx=ctx, actor=alice)
    login(client, alice)
    response = client.get(reverse("web:requests"), {"status": "new"})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 3
    assert (
        len(client.get(reverse("web:requests"), {"status": "declined"}).context["page"].object_list)
        == 0
    )


def test_request_page_shows_account_and_cases(client, alice, ctx):
    request = make_request(ctx=ctx, actor=alice, people=2, account="We are two cooks.")
    login(client, alice)
    response = client.get(reverse("web:request", args=[request.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "We are two cooks." in body
    assert len(response.context["rows"]) == 2


def test_triage_declines_a_request_and_its_cases(client, dave, alice, ctx):
    request = make_request(ctx=ctx, actor=alice)
    login(client, dave)
    response = client.post(
        reverse("web:request_triage", args=[request.pk]),
        {"status": "declined", "urgency": "2", "duplicate_of": "", "version": request.version},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.DECLINED
    assert request.cases.get().state == "declined"


def test_caseworker_cannot_triage(client, alice, bob, ctx):
    request = make_request(ctx=ctx, actor=alice, owner=bob)
    login(client, bob)
    page = client.get(reverse("web:request", args=[request.pk]))
    assert page.status_code == 200 and page.context["triage"] is None
    response = client.post(
        reverse("web:request_triage", args=[request.pk]),
        {"status": "declined", "urgency": "2", "version": request.version},
    )
    assert response.status_code == 403
    assert Request.objects.get(pk=request.pk).status == RequestStatus.NEW


def test_new_request_form_records_a_group_through_a_broker(client, alice, ctx):
    broker = make_broker(ctx=ctx, actor=alice, alias="Mr Jang")
    login(client, alice)
    page = client.get(reverse("web:request_new"))
    assert page.status_code == 200 and "Mr Jang" in page.content.decode()
    response = client.post(
        reverse("web:request_new"),
        request_form(3, channel="broker", broker=str(broker.pk), group_label="Ningbo three"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    request = Request.objects.get()
    assert request.broker == broker and request.people_count == 3
    cases = list(request.cases.all())
    assert len(cases) == 3 and len({c.group_id for c in cases}) == 1


def test_number_of_people_redraws_the_form_without_losing_input(client, alice):
    login(client, alice)
    data = request_form(1, account="Keep this account.")
    data.pop("save")
    data.update({"people_count": "3", "resize": "1"})
    response = client.post(reverse("web:request_new"), data)
    assert response.status_code == 200
    assert len(response.context["people"]) == 3
    body = response.content.decode()
    assert "Keep this account." in body and 'name="p2-name_hangul"' in body
    assert 'value="김선희"' in body
    assert Request.objects.count() == 0


def test_case_list_filters_on_plain_columns(client, alice, ctx):
    make_case(ctx=ctx, actor=alice, country="CN", urgency=4)
    make_case(ctx=ctx, actor=alice, country="TH")
    login(client, alice)
    assert client.get(reverse("web:cases")).context["page"].paginator.count == 2
    assert client.get(reverse("web:cases"), {"country": "TH"}).context["page"].paginator.count == 1
    assert client.get(reverse("web:cases"), {"urgency": "4"}).context["page"].paginator.count == 1
    assert (
        client.get(reverse("web:cases"), {"state": "arrived"}).context["page"].paginator.count == 0
    )
    assert client.get(reverse("web:cases"), {"active": "yes", "overdue": "on"}).status_code == 200


def test_case_page_shows_timeline_and_only_allowed_moves(client, alice, ctx):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    response = client.get(reverse("web:case", args=[case.pk]))
    assert response.status_code == 200
    choices = [c for c, _ in response.context["transition"].fields["to_state"].choices]
    assert "verifying" in choices and "arrived" not in choices
    assert "I chose to leave." not in response.content.decode()  # factory has no own words
    assert "Received" in response.content.decode()


def test_transition_form_moves_the_case_and_records_the_event(client, alice, ctx):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    response = client.post(
        reverse("web:case_move", args=[case.pk]),
        transition_form(case, note="Called back", place="Behind the market"),
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == "verifying" and case.version == 2
    event = JourneyEvent.objects.filter(case=case).order_by("-recorded_at").first()
    assert event is not None and event.to_state == "verifying" and event.country == "CN"
    page = client.get(reverse("web:case", args=[case.pk])).content.decode()
    assert "Called back" in page and "Behind the market" in page and "Liaoning" in page


def test_note_is_added_and_shown(client, alice, ctx):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    response = client.post(reverse("web:case_note", args=[case.pk]), {"text": "Phone is off."})
    assert response.status_code == 302
    assert Note.objects.filter(case=case).count() == 1
    assert "Phone is off." in client.get(reverse("web:case", args=[case.pk])).content.decode()


def test_group_move_moves_chosen_members_together(client, alice, ctx):
    request = make_request(ctx=ctx, actor=alice, people=3)
    cases = list(request.cases.all())
    login(client, alice)
    response = client.post(
        reverse("web:case_group_move", args=[cases[0].pk]),
        {
            "case_ids": [f"{c.pk}:{c.version}" for c in cases[:2]],
            "to_state": "verifying",
            "occurred_at": "",
            "country": "CN",
            "region": "",
            "source": "broker",
            "confidence": "likely",
            "note": "",
        },
    )
    assert response.status_code == 302
    states = sorted(Case.objects.filter(request=request).values_list("state", flat=True))
    assert states == ["received", "verifying", "verifying"]


def test_group_move_refused_for_one_member_moves_none(client, alice, ctx):
    request = make_request(ctx=ctx, actor=alice, people=2)
    first, second = list(request.cases.all())
    login(client, alice)
    # The first withdrew: a group move can no longer take them anywhere.
    client.post(
        reverse("web:case_move", args=[first.pk]), transition_form(first, to_state="withdrawn")
    )
    first.refresh_from_db()
    response = client.post(
        reverse("web:case_group_move", args=[first.pk]),
        {
            "case_ids": [f"{first.pk}:{first.version}", f"{second.pk}:{second.version}"],
            "to_state": "accepted",
            "country": "",
            "source": "staff",
            "confidence": "confirmed",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "no member was moved" in page
    assert f"{name_of(ctx, first)}: " in page and str(first.pk) + " " not in page
    assert sorted(Case.objects.filter(request=request).values_list("state", flat=True)) == [
        "received",
        "withdrawn",
    ]


def test_a_stale_group_form_moves_nobody_and_says_why(client, alice, ctx):
    request = make_request(ctx=ctx, actor=alice, people=2)
    first, second = list(request.cases.all())
    login(client, alice)
    seen = [f"{first.pk}:{first.version}", f"{second.pk}:{second.version}"]
    client.post(reverse("web:case_move", args=[first.pk]), transition_form(first))  # someone else

    response = client.post(
        reverse("web:case_group_move", args=[first.pk]),
        {"case_ids": seen, "to_state": "withdrawn", "source": "staff", "confidence": "confirmed"},
    )

    assert response.status_code == 400
    assert "changed" in response.content.decode()
    assert sorted(Case.objects.filter(request=request).values_list("state", flat=True)) == [
        "received",
        "verifying",
    ]


def test_case_edit_and_person_edit_save_with_versions(client, alice, bob, ctx):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    login(client, bob)
    assert client.get(reverse("web:case_edit", args=[case.pk])).status_code == 200
    response = client.post(
        reverse("web:case_edit", args=[case.pk]),
        {
            "version": case.version,
            "urgency": "3",
            "next_contact_due": "2020-01-01T10:00",
            "owner": str(bob.pk),
            "own_words": "My own choice.",
            "summary": "Cook in Ningbo.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    case.refresh_from_db()
    assert case.urgency == 3 and case.next_contact_due is not None
    assert client.get(reverse("web:person_edit", args=[case.pk])).status_code == 200
    response = client.post(
        reverse("web:person_edit", args=[case.pk]),
        {
            "version": case.person.version,
            "name_hangul": "리영호",
            "name_romanized": "Ri Yong-ho",
            "aliases": "Cook, Ri",
            "sex": "male",
            "birth_value": "1985-03",
            "birth_precision": "month",
            "origin_region": "Hyesan",
            "occupation": "labourer",
        },
    )
    assert response.status_code == 302
    page = client.get(reverse("web:case", args=[case.pk])).content.decode()
    assert "리영호" in page and "My own choice." in page
    # The overdue next contact surfaces on the dashboard.
    login(client, alice)
    assert client.get(reverse("web:dashboard")).context["board"].overdue_count == 1


def test_referral_wizard_records_consent_and_drafts_the_referral(client, alice, ctx, partner):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    assert client.get(reverse("web:referral_new", args=[case.pk])).status_code == 200
    response = client.post(
        reverse("web:referral_new", args=[case.pk]),
        {
            "partner": str(partner.pk),
            "purpose": "relief",
            "disclosed_fields": ["name_hangul", "occupation"],
            "cover_note": "Urgent.",
            "existing_consent": "",
            "consent_fields": ["name_hangul", "occupation", "sex"],
            "consent_method": "verbal",
            "consent_words": "Yes, tell the ministry.",
            "consent_given_at": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    referral = Referral.objects.get()
    assert referral.consent is not None and referral.disclosed_fields == [
        "name_hangul",
        "occupation",
    ]
    page = client.get(reverse("web:referral", args=[referral.pk]))
    assert page.status_code == 200
    assert page.context["packet"]["fields"] == {
        "name_hangul": name_of(ctx, case),
        "occupation": "restaurant_worker",
    }


def _referral(ctx, alice, case, partner, *, consent=True):
    c = None
    if consent:
        c = consent_record(
            ctx=ctx,
            actor=alice,
            case=case,
            partner=partner,
            purpose="relief",
            fields=["name_hangul"],
            method="verbal",
            words="yes",
        )
    return referral_create(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        disclosed_fields=["name_hangul"],
        consent=c,
    )


def test_referral_actions_approve_and_send(client, alice, ctx, partner):
    case = make_case(ctx=ctx, actor=alice)
    referral = _referral(ctx, alice, case, partner)
    login(client, alice)
    url = reverse("web:referral_action", args=[referral.pk, "approve"])
    assert client.post(url, {"version": referral.version}).status_code == 302
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.APPROVED
    client.post(
        reverse("web:referral_action", args=[referral.pk, "send"]), {"version": referral.version}
    )
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.SENT


def test_caseworker_cannot_approve_a_referral(client, alice, bob, ctx, partner):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    referral = _referral(ctx, alice, case, partner)
    login(client, bob)
    response = client.post(
        reverse("web:referral_action", args=[referral.pk, "approve"]), {"version": referral.version}
    )
    assert response.status_code == 403
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.DRAFT


def test_send_is_refused_with_the_reason_when_consent_is_revoked(client, alice, ctx, partner):
    case = make_case(ctx=ctx, actor=alice)
    referral = _referral(ctx, alice, case, partner)
    login(client, alice)
    client.post(reverse("web:referral_action", args=[referral.pk, "approve"]), {"version": 1})
    consent = Consent.objects.get()
    client.post(
        reverse("web:referral_action", args=[referral.pk, "revoke_consent"]),
        {"version": consent.version},
    )
    referral.refresh_from_db()
    response = client.post(
        reverse("web:referral_action", args=[referral.pk, "send"]),
        {"version": referral.version},
        follow=True,
    )
    assert "The consent was revoked." in response.content.decode()
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.APPROVED


def test_send_is_refused_without_consent(client, alice, ctx, partner):
    case = make_case(ctx=ctx, actor=alice)
    referral = _referral(ctx, alice, case, partner, consent=False)
    login(client, alice)
    client.post(reverse("web:referral_action", args=[referral.pk, "approve"]), {"version": 1})
    response = client.post(
        reverse("web:referral_action", args=[referral.pk, "send"]), {"version": 2}, follow=True
    )
    assert "There is no consent for this referral." in response.content.decode()
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.APPROVED


def test_partner_liaison_sees_sent_referrals_to_their_agency_and_responds(
    client, alice, frank, ctx, partner
):
    case = make_case(ctx=ctx, actor=alice)
    referral = _referral(ctx, alice, case, partner)
    login(client, frank)
    assert client.get(reverse("web:referral", args=[referral.pk])).status_code == 404
    login(client, alice)
    client.post(reverse("web:referral_action", args=[referral.pk, "approve"]), {"version": 1})
    client.post(reverse("web:referral_action", args=[referral.pk, "send"]), {"version": 2})
    login(client, frank)
    page = client.get(reverse("web:referral", args=[referral.pk]))
    assert page.status_code == 200 and name_of(ctx, case) in page.content.decode()
    client.post(
        reverse("web:referral_action", args=[referral.pk, "respond"]),
        {"version": 3, "status": "acknowledged"},
    )
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.ACKNOWLEDGED


def test_broker_pages_show_details_and_record(client, alice, ctx):
    broker = make_broker(ctx=ctx, actor=alice, alias="Mr Jang", warnings="Asked for double fee")
    make_request(ctx=ctx, actor=alice, people=2, channel="broker", broker=broker)
    login(client, alice)
    assert "Mr Jang" in client.get(reverse("web:brokers")).content.decode()
    page = client.get(reverse("web:broker", args=[broker.pk]))
    assert page.status_code == 200
    assert page.context["record"].people == 2 and "Asked for double fee" in page.content.decode()


def test_broker_create_edit_and_suspend(client, alice, bob, ctx):
    login(client, bob)
    response = client.post(reverse("web:broker_new"), {"alias": "Auntie Kim", "region": "Yanji"})
    assert response.status_code == 302
    from haven.brokers.models import Broker

    broker = Broker.objects.get()
    response = client.post(
        reverse("web:broker_edit", args=[broker.pk]),
        {"alias": "Auntie Kim", "region": "Dandong", "version": broker.version},
    )
    assert response.status_code == 302
    broker.refresh_from_db()
    assert (
        client.post(
            reverse("web:broker_status", args=[broker.pk]),
            {"version": broker.version, "status": "suspended"},
        ).status_code
        == 403
    )
    login(client, alice)
    client.post(
        reverse("web:broker_status", args=[broker.pk]),
        {"version": broker.version, "status": "suspended"},
    )
    broker.refresh_from_db()
    assert broker.status == BrokerStatus.SUSPENDED


def test_partners_are_managed_by_supervisors_and_admins_only(client, alice, bob, erin, partner):
    login(client, bob)
    assert client.get(reverse("web:partners")).status_code == 200
    assert client.get(reverse("web:partner_new")).status_code == 403
    login(client, erin)
    response = client.post(reverse("web:partner_new"), {"name": "UNHCR Bangkok", "country": "TH"})
    assert response.status_code == 302
    login(client, alice)
    response = client.post(
        reverse("web:partner_edit", args=[partner.pk]),
        {"name": partner.name, "country": "KR", "active": "", "version": partner.version},
    )
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.active is False
