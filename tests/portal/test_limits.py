"""The in-memory window limiter and the global count of wrong receipts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from haven.portal import limits
from haven.portal.models import FailureWindow


def test_the_window_limiter_counts_a_rolling_minute() -> None:
    now = [0.0]
    limiter = limits.WindowLimiter(lambda: 3, clock=lambda: now[0])
    assert [limiter.allow() for _ in range(4)] == [True, True, True, False]
    now[0] = 59.9
    assert not limiter.allow()
    now[0] = 60.0
    assert limiter.allow()


@pytest.mark.django_db
def test_wrong_receipts_are_counted_per_minute_across_processes(settings) -> None:
    settings.HAVEN_PORTAL_RECEIPT_FAILURES_PER_MINUTE = 3
    now = timezone.now()
    for _ in range(2):
        limits.failure_record(now)
    assert not limits.failures_exceeded(now)
    limits.failure_record(now)
    assert limits.failures_exceeded(now)
    assert limits.failures_exceeded(now + dt.timedelta(minutes=1))  # the minute before counts
    assert not limits.failures_exceeded(now + dt.timedelta(minutes=3))
    limits.failure_record(now + dt.timedelta(hours=2))  # old windows are dropped
    assert FailureWindow.objects.count() == 1
