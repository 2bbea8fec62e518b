"""Groups on their own pages, moved together in one submission (issue 18, item 6)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from haven.cases.models import Case, Group, JourneyEvent
from haven.cases.services import PersonInput, request_create
from tests.factories import login, make_broker

pytestmark = pytest.mark.django_db


@pytest.fixture
def yanji(ctx, alice):
    request = request_create(
        ctx=ctx,
        actor=alice,
        channel="broker",
        broker=make_broker(ctx=ctx, actor=alice),
        account="Three from Yanji.",
        people=[PersonInput(name_hangul=n) for n in ("김선희", "리영호", "박정민")],
        group_label="Yanji three",
    )
    return Group.objects.get(request=request)


def _move(client, group, members, to_state, **extra):
    data = {
        "case_ids": [f"{c.pk}:{c.version}" for c in members],
        "to_state": to_state,
        "country": "",
        "source": "broker",
        "confidence": "likely",
        **extra,
    }
    return client.post(reverse("web:group_move", args=[group.pk]), data)


def test_the_group_list_and_page_show_the_label_and_members(client, alice, yanji):
    login(client, alice)

    listing = client.get(reverse("web:groups")).content.decode()
    page = client.get(reverse("web:group", args=[yanji.pk])).content.decode()

    assert "Yanji three" in listing and reverse("web:group", args=[yanji.pk]) in listing
    assert "Yanji three" in page and all(n in page for n in ("김선희", "리영호", "박정민"))


def test_move_to_offers_only_states_the_members_can_reach(client, alice, yanji):
    login(client, alice)
    page = client.get(reverse("web:group", args=[yanji.pk])).content.decode()
    select = re.search(r'<select name="to_state"[^>]*>(.*?)</select>', page, re.S).group(1)
    offered = re.findall(r'<option value="([a-z_]+)"', select)

    assert "received" not in offered  # never the state they are in
    assert "in_third_country" in offered and "verifying" in offered
    assert "handed_over" not in offered and "repatriated" not in offered


def test_a_group_moves_to_thailand_in_one_submission_through_each_step(client, alice, yanji):
    members = list(Case.objects.filter(group=yanji).order_by("pk"))
    login(client, alice)

    response = _move(
        client, yanji, members, "in_third_country", country="Thailand", region="Chiang Rai"
    )

    assert response.status_code == 302
    for case in Case.objects.filter(group=yanji):
        assert (case.state, case.country) == ("in_third_country", "TH")
        steps = list(
            JourneyEvent.objects.filter(case=case)
            .order_by("case_version")
            .values_list("to_state", flat=True)
        )
        assert steps == [
            "received",
            "verifying",
            "accepted",
            "referred",
            "left_workplace",
            "in_third_country",
        ]
    # The members stay ticked for the next move.
    page = client.get(response["Location"]).content.decode()
    assert len(re.findall(r'name="case_ids" value="[^"]+"[^>]*checked', page)) == 3


def test_a_refused_move_names_the_member_and_moves_nobody(client, alice, yanji, ctx):
    from haven.cases.services import journey_advance

    first, *rest = list(Case.objects.filter(group=yanji).order_by("pk"))
    journey_advance(ctx=ctx, actor=alice, case=first, to_state="withdrawn", expected_version=1)
    first.refresh_from_db()
    login(client, alice)

    response = _move(client, yanji, [first, *rest], "accepted")

    page = response.content.decode()
    assert response.status_code == 400
    assert "no member was moved" in page
    assert str(first.pk) not in re.sub(r'value="[^"]*"|href="[^"]*"', "", page)
    assert sorted(Case.objects.filter(group=yanji).values_list("state", flat=True)) == [
        "received",
        "received",
        "withdrawn",
    ]


def test_ticking_a_member_who_cannot_go_there_names_them_and_moves_nobody(
    client, alice, yanji, ctx
):
    """The page offers where the members it ticked can go; ticking another who cannot go there
    is refused by name, not as "not one of the available choices"."""
    from haven.cases.services import journey_advance

    first, *rest = list(Case.objects.filter(group=yanji).order_by("pk"))
    journey_advance(ctx=ctx, actor=alice, case=first, to_state="verifying", expected_version=1)
    first.refresh_from_db()
    login(client, alice)

    response = _move(client, yanji, [first, *rest], "verifying")

    page = response.content.decode()
    assert response.status_code == 400
    assert "not one of the available choices" not in page
    assert "no member was moved" in page
    assert sorted(Case.objects.filter(group=yanji).values_list("state", flat=True)) == [
        "received",
        "received",
        "verifying",
    ]


def test_the_case_page_links_to_its_group_by_label(client, alice, yanji):
    case = Case.objects.filter(group=yanji).first()
    login(client, alice)

    page = client.get(reverse("web:case", args=[case.pk])).content.decode()

    assert "Yanji three" in page and reverse("web:group", args=[yanji.pk]) in page
    assert "all or none" not in page
