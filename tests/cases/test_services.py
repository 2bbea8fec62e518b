from __future__ import annotations

import pytest

from haven.cases.journey import State
from haven.cases.models import Case, JourneyEvent
from tests.factories import make_request


@pytest.mark.django_db
def test_request_for_a_group_opens_one_case_per_person_in_one_group(ctx, alice):
    request = make_request(ctx=ctx, actor=alice, people=3, channel="broker")

    cases = list(Case.objects.filter(request=request))
    assert len(cases) == 3
    assert len({c.group_id for c in cases}) == 1 and cases[0].group_id is not None
    assert all(c.state == State.RECEIVED for c in cases)
    assert JourneyEvent.objects.filter(case__in=cases, to_state=State.RECEIVED).count() == 3
