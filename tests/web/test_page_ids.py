"""Every element id on a page is unique, so that each label points at its own field (issue 18,
item 14); the site icon is served; a broker's history reads newest first."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone

from haven.cases.models import Case, Request
from tests.factories import login, make_broker, make_request

pytestmark = pytest.mark.django_db


def _duplicate_ids(html: str) -> list[str]:
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    return sorted(name for name, n in ids.items() if n > 1)


def test_the_case_page_of_a_group_member_has_no_duplicate_ids(client, alice, ctx):
    request = make_request(ctx=ctx, actor=alice, people=3, channel="direct_line")
    case = Case.objects.filter(request=request).first()
    login(client, alice)

    html = client.get(reverse("web:case", args=[case.pk])).content.decode()

    assert 'id="id_group_to_state"' in html  # the group form is on the page
    assert _duplicate_ids(html) == []
    for label_for in re.findall(r'<label for="([^"]+)"', html):
        assert f'id="{label_for}"' in html, label_for


def test_the_site_icon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"


def test_a_brokers_history_is_sorted_by_date_not_urgency(client, alice, ctx):
    broker = make_broker(ctx=ctx, actor=alice)
    old = make_request(ctx=ctx, actor=alice, channel="broker", broker=broker, urgency=4)
    new = make_request(ctx=ctx, actor=alice, channel="broker", broker=broker, urgency=1)
    Request.objects.filter(pk=old.pk).update(received_at=timezone.now() - dt.timedelta(days=30))
    login(client, alice)

    page = client.get(reverse("web:broker", args=[broker.pk])).context["page"]

    assert [r.pk for r in page.object_list] == [new.pk, old.pk]
