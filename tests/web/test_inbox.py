"""The intake inbox: who, through whom, whose, what waits; filters and bulk assignment; marking
a duplicate by choosing it (issue 18, item 8)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from haven.access import can_view_case
from haven.cases.models import Case, Request, RequestStatus
from haven.portal.conversation import requester_message_add
from haven.portal.services import Submission, portal_request_create
from tests.factories import ctx_for, login, make_broker, make_request
from tests.web.helpers import name_of

pytestmark = pytest.mark.django_db


def _row(html: str, request: Request) -> str:
    found = re.search(rf'<tr id="request-{request.pk}".*?</tr>', html, re.S)
    assert found, "row not listed"
    return found.group(0)


def test_a_row_shows_the_people_the_broker_the_owner_and_a_waiting_message(
    client, ctx, alice, bob, dave
):
    broker = make_broker(ctx=ctx, actor=alice, alias="Mr Jang (Dandong)")
    through_broker = make_request(ctx=ctx, actor=alice, channel="broker", broker=broker, owner=bob)
    portal, receipt = portal_request_create(
        submission=Submission(
            names=["Kim"], country="CN", region="", urgency=3, account="Help.", contact=""
        ),
        form_token="t-1",
    )
    requester_message_add(receipt, "Are you there?", form_token="m-1")
    login(client, dave)

    html = client.get(reverse("web:requests")).content.decode()

    row = _row(html, through_broker)
    assert "Mr Jang (Dandong)" in row and "bob" in row
    assert name_of(ctx, through_broker.cases.get()) in row
    assert "new message" not in row
    assert "new message" in _row(html, portal) and "Kim" in _row(html, portal)


def test_a_request_recorded_by_a_caseworker_is_not_left_new(ctx, bob):
    request = make_request(ctx=ctx_for(bob), actor=bob)
    assert request.status == RequestStatus.TRIAGED and request.triaged_by == bob


def test_the_inbox_filters_by_channel_owner_and_waiting_message(client, ctx, alice, bob, dave):
    mine = make_request(ctx=ctx, actor=alice, owner=dave)
    nobodys = make_request(ctx=ctx, actor=alice, channel="broker")
    login(client, dave)

    def listed(**query) -> set:
        return {
            row.request.pk for row in client.get(reverse("web:requests"), query).context["rows"]
        }

    assert listed(channel="broker") == {nobodys.pk}
    assert listed(owner="me") == {mine.pk}
    assert listed(owner="none") == {nobodys.pk}
    assert listed(awaiting="on") == set()
    assert listed(channel="pigeon") == set()  # a filter it cannot read lists nothing


def test_intake_assigns_several_requests_at_once(client, ctx, alice, bob, dave):
    first = make_request(ctx=ctx, actor=alice, people=2)
    second = make_request(ctx=ctx, actor=alice)
    untouched = make_request(ctx=ctx, actor=alice)
    login(client, dave)

    response = client.post(
        reverse("web:requests_assign"),
        {"request_ids": [str(first.pk), str(second.pk)], "owner": str(bob.pk)},
        follow=True,
    )

    assert "3 case(s) of 2 request(s) are now bob" in response.content.decode()
    for case in Case.objects.filter(request__in=[first, second]):
        assert case.owner == bob and can_view_case(bob, case)
    assert not Case.objects.filter(request=untouched, owner=bob).exists()


def test_a_caseworker_cannot_assign_in_bulk(client, ctx, alice, bob):
    request = make_request(ctx=ctx, actor=alice)
    login(client, bob)
    response = client.post(
        reverse("web:requests_assign"), {"request_ids": [str(request.pk)], "owner": str(bob.pk)}
    )
    assert response.status_code == 403
    assert not Case.objects.filter(owner=bob).exists()


def test_a_duplicate_is_marked_by_choosing_the_earlier_request(client, ctx, alice, dave):
    earlier = make_request(ctx=ctx, actor=alice)
    later = make_request(ctx=ctx, actor=alice)
    login(client, dave)

    page = client.get(reverse("web:request", args=[later.pk])).content.decode()
    label = re.search(rf'<option value="{earlier.pk}">([^<]+)</option>', page)
    assert label and re.fullmatch(r"\d{4}-\d\d-\d\d · Direct line · \S+", label.group(1))
    response = client.post(
        reverse("web:request_triage", args=[later.pk]),
        {"status": "duplicate", "duplicate_of": str(earlier.pk), "version": later.version},
    )

    assert response.status_code == 302
    later.refresh_from_db()
    assert later.status == RequestStatus.DUPLICATE and later.duplicate_of == earlier
