"""Flood limits that need no client address.

* :class:`WindowLimiter`: a per-process, in-memory count of events in the last minute (a deque
  of timestamps). Submissions and receipt look-ups each have one; the limits are per process,
  so a deployment of P processes accepts at most P times the setting.
* :func:`failures_exceeded` / :func:`failure_record`: wrong receipts per minute across all
  processes, counted in :class:`~haven.portal.models.FailureWindow` (a number per minute, no
  more). Past the limit every receipt look-up is refused for the rest of the window, before any
  Argon2id work is done. This lets a flood of wrong receipts delay honest requesters for a few
  minutes; the alternative (per-client limits) would need to know who the client is.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from haven.portal.models import FailureWindow

WINDOW_SECONDS = 60.0


class WindowLimiter:
    """At most ``limit()`` events per rolling minute in this process."""

    def __init__(self, limit: Callable[[], int], clock: Callable[[], float] = time.monotonic):
        self._limit = limit
        self._clock = clock
        self._events: deque[float] = deque()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Count one event if the window has room; False (nothing counted) when full."""
        now = self._clock()
        with self._lock:
            while self._events and now - self._events[0] >= WINDOW_SECONDS:
                self._events.popleft()
            if len(self._events) >= self._limit():
                return False
            self._events.append(now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._events.clear()


submissions = WindowLimiter(lambda: int(settings.HAVEN_PORTAL_SUBMISSIONS_PER_MINUTE))
lookups = WindowLimiter(lambda: int(settings.HAVEN_PORTAL_LOOKUPS_PER_MINUTE))
# Submissions let in past ``submissions`` by a solved proof-of-work (haven.portal.pow).
paid_submissions = WindowLimiter(lambda: int(settings.HAVEN_PORTAL_POW_CEILING_PER_MINUTE))


def _minute(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()).replace(second=0, microsecond=0)


def failures_exceeded(now: dt.datetime | None = None) -> bool:
    """Whether wrong receipts in this minute and the one before reached the global limit."""
    minute = _minute(now)
    total = (
        FailureWindow.objects.filter(minute__gte=minute - dt.timedelta(minutes=1)).aggregate(
            total=Sum("failures")
        )["total"]
        or 0
    )
    return total >= int(settings.HAVEN_PORTAL_RECEIPT_FAILURES_PER_MINUTE)


@transaction.atomic
def failure_record(now: dt.datetime | None = None) -> None:
    """Count one wrong receipt in this minute's window; drop windows older than an hour."""
    minute = _minute(now)
    updated = FailureWindow.objects.filter(minute=minute).update(failures=F("failures") + 1)
    if not updated:
        FailureWindow.objects.get_or_create(minute=minute, defaults={"failures": 0})
        FailureWindow.objects.filter(minute=minute).update(failures=F("failures") + 1)
    FailureWindow.objects.filter(minute__lt=minute - dt.timedelta(hours=1)).delete()
