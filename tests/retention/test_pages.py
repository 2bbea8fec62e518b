"""The retention page shows supervisors what will be destroyed, and when, before it happens."""

from __future__ import annotations

import pytest
from django.urls import reverse

from haven.retention.models import RetentionHold
from haven.retention.services import retention_purge
from tests.factories import login, make_case
from tests.retention.test_services import _decline

pytestmark = pytest.mark.django_db


def test_supervisors_see_what_is_due_and_can_hold_it(client, ctx, alice):
    case = _decline(ctx, alice, make_case(ctx=ctx, actor=alice), days_ago=100)
    retention_purge()
    login(client, alice)

    page = client.get(reverse("web:retention")).content.decode()
    assert str(case.pk)[:8] in page and "Declined" in page

    client.post(reverse("web:retention_hold"), {"case": case.pk, "days": 30})
    assert RetentionHold.objects.get(case=case).held_by == alice
    assert "held until" in client.get(reverse("web:retention")).content.decode()


@pytest.mark.parametrize(
    "body", [{}, {"case": "nope", "days": 3}, {"days": 3}, {"case": "", "days": "x" * 500}]
)
def test_a_bad_hold_changes_nothing(client, ctx, alice, body):
    login(client, alice)

    response = client.post(reverse("web:retention_hold"), body)

    assert response.status_code == 302 and not RetentionHold.objects.exists()
