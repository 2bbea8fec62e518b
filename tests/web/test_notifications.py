"""What waits for someone, inside Haven: a count in the navigation and a list, without JavaScript
(issue 18, item 15); each role's home links only to what it can open (item 11)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from haven.cases.models import Case
from haven.notifications.selectors import notification_count
from haven.portal.conversation import requester_message_add
from haven.portal.services import Submission, portal_request_create
from haven.referrals.services import consent_record, referral_create, referral_submit
from tests.factories import ctx_for, login, make_case
from tests.web.helpers import name_of

pytestmark = pytest.mark.django_db


def _nav_count(html: str) -> int:
    found = re.search(r'id="nav-notifications"[^>]*>[^<]*<span class="count"[^>]*>(\d+)', html)
    return int(found.group(1)) if found else 0


def _portal_request_with_a_message():
    request, receipt = portal_request_create(
        submission=Submission(
            names=["Kim"], country="CN", region="", urgency=3, account="Help.", contact=""
        ),
        form_token="t-1",
    )
    requester_message_add(receipt, "We are in Shenyang now.", form_token="m-1")
    return request


def test_a_caseworker_sees_overdue_unstarted_and_unanswered_in_the_count_and_list(
    client, ctx, alice, bob
):
    overdue = make_case(ctx=ctx, actor=alice, owner=bob)
    Case.objects.filter(pk=overdue.pk).update(
        state="verifying", next_contact_due=timezone.now() - dt.timedelta(days=2)
    )
    unstarted = make_case(ctx=ctx, actor=alice, owner=bob)
    make_case(ctx=ctx, actor=alice)  # not bob's
    login(client, bob)

    home = client.get(reverse("web:dashboard")).content.decode()
    page = client.get(reverse("web:notifications")).content.decode()

    assert _nav_count(home) == 2
    assert name_of(ctx, overdue) in page.split('id="notice-overdue"')[1].split("</section>")[0]
    assert name_of(ctx, unstarted) in page.split('id="notice-assigned"')[1].split("</section>")[0]
    assert "<script" not in page


def test_intake_is_told_of_a_message_waiting_for_a_reply_until_it_is_answered(client, dave):
    from haven.messaging.services import message_send

    request = _portal_request_with_a_message()
    login(client, dave)
    assert notification_count(user=dave) >= 1
    page = client.get(reverse("web:notifications")).content.decode()
    assert reverse("web:request", args=[request.pk]) in page

    message_send(ctx=ctx_for(dave), actor=dave, request=request, body="We read you. Stay safe.")
    after = client.get(reverse("web:notifications")).content.decode()
    assert reverse("web:request", args=[request.pk]) not in after


def test_a_supervisor_is_told_of_a_referral_awaiting_approval(client, ctx, alice, bob, partner):
    case = make_case(ctx=ctx, actor=bob)
    bob_ctx = ctx_for(bob)
    consent = consent_record(
        ctx=bob_ctx,
        actor=bob,
        case=case,
        partner=partner,
        purpose="relief",
        fields=["sex"],
        method="verbal",
        words="Yes.",
    )
    referral = referral_create(
        ctx=bob_ctx,
        actor=bob,
        case=case,
        partner=partner,
        purpose="relief",
        disclosed_fields=["sex"],
        consent=consent,
    )
    referral_submit(ctx=bob_ctx, actor=bob, referral=referral, expected_version=referral.version)
    login(client, alice)

    page = client.get(reverse("web:notifications")).content.decode()

    section = page.split('id="notice-approval"')[1].split("</section>")[0]
    assert reverse("web:referral", args=[referral.pk]) in section


def test_the_count_costs_a_few_queries_however_many_cases(client, ctx, alice, bob):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            notification_count(user=alice)
        return len(captured.captured_queries)

    queries()  # who holds which team key, read once per process
    few = queries()
    for _ in range(15):
        make_case(ctx=ctx, actor=alice, owner=alice)
    queries()
    assert queries() == few <= 4  # one bounded count per kind (a supervisor has four)


@pytest.mark.parametrize("who", ["frank", "grace", "heidi", "erin"])
def test_each_roles_home_links_only_to_pages_it_can_open(client, request, who):
    user = request.getfixturevalue(who)
    login(client, user)
    home = client.get(reverse("web:dashboard"))
    assert home.status_code == 200
    html = home.content.decode()
    links = set(re.findall(r'href="(/[^"]*)"', html)) - {"/favicon.ico"}
    for link in links:
        if link.startswith("/static/"):
            continue
        assert client.get(link).status_code == 200, (who, link)


def test_the_homes_say_what_each_role_does(client, frank, grace, heidi):
    login(client, frank)
    assert reverse("web:referrals") in client.get("/").content.decode()
    assert reverse("web:partners") not in client.get("/").content.decode()
    login(client, grace)
    assert reverse("web:audit") in client.get("/").content.decode()
    login(client, heidi)
    home = client.get("/").content.decode()
    # The press officer's home: statements, cover records and statistics, nothing of cases.
    for page in ("web:statements", "web:covers", "web:stats"):
        assert reverse(page) in home
    assert reverse("web:partners") not in home and reverse("web:cases") not in home


def _latest_from_outside(request) -> bool:
    from haven.messaging.models import Message

    latest = Message.objects.filter(request=request).order_by("-created_at").first()
    return latest is not None and latest.author_kind in ("requester", "broker")


def test_the_awaiting_reply_flag_follows_whoever_wrote_last_in_any_order(dave):
    import random

    from haven.cases.models import Request
    from haven.messaging.services import message_send

    request, receipt = portal_request_create(
        submission=Submission(
            names=["Kim"], country="CN", region="", urgency=3, account="Help.", contact=""
        ),
        form_token="t-flag",
    )
    assert Request.objects.get(pk=request.pk).awaiting_reply is False  # nothing written yet
    rng = random.Random(7)
    for turn in range(12):
        if rng.random() < 0.5:
            requester_message_add(receipt, f"Still here ({turn}).", form_token=f"m-{turn}")
        else:
            message_send(ctx=ctx_for(dave), actor=dave, request=request, body=f"Noted ({turn}).")
        stored = Request.objects.get(pk=request.pk)
        assert stored.awaiting_reply is _latest_from_outside(stored), turn


def test_the_migration_flags_the_requests_whose_latest_message_came_from_outside(dave):
    import importlib

    from django.apps import apps

    from haven.cases.models import Request
    from haven.messaging.services import message_send

    answered = _portal_request_with_a_message()
    message_send(ctx=ctx_for(dave), actor=dave, request=answered, body="We read you.")
    waiting, receipt = portal_request_create(
        submission=Submission(
            names=["Ri"], country="CN", region="", urgency=3, account="Help.", contact=""
        ),
        form_token="t-2",
    )
    requester_message_add(receipt, "Hello?", form_token="m-2")
    Request.objects.update(awaiting_reply=False)  # as before the migration
    migration = importlib.import_module("haven.cases.migrations.0011_request_awaiting_reply")
    migration.flag_requests_awaiting_a_reply(apps, None)
    assert set(Request.objects.filter(awaiting_reply=True).values_list("pk", flat=True)) == {
        waiting.pk
    }
