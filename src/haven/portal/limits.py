"""Flood and guessing limits that need no client address, and no lock-out for everyone.

* :class:`WindowLimiter`: a per-process, in-memory count of events in the last minute (a deque
  of timestamps). Submissions have one (past it, a solved proof-of-work still gets in, up to a
  ceiling: :mod:`haven.portal.pow`); the limits are per process, so a deployment of P processes
  accepts at most P times the setting.
* :class:`PrefixFailures`: wrong secrets counted by the first digits of what was typed, per
  process and in memory (two ten-minute windows; nothing of a receipt reaches the disk). A
  prefix that has had ``HAVEN_PORTAL_RECEIPT_FAILURES_PER_PREFIX`` wrong tries is
  *gated*: a look-up under it needs a proof-of-work whose difficulty grows with the failures
  (a browser with JavaScript solves it by itself), or, without JavaScript, waits until the
  window has moved on; far past the budget the prefix is closed until then. Every other
  prefix is untouched. Receipts and broker access codes have counters of their own.

Why prefixes: someone who has seen part of a receipt (a photo of a scrap of paper) can only try
the rest at the gated rate, while an attacker who wants to shut the direct line for everyone
must fill the budget of every one of the 100,000 prefixes in every process, which takes more
receipt look-ups a second than the server can compute (each costs an Argon2id run): flooding
it then slows it as any flood would, but nobody is locked out. See docs/security.md, "The
requester portal".
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from haven.portal.pow import pow_bits

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
PREFIX_WINDOW_SECONDS = 600
PREFIX_DIGITS = 5
BUCKETS = 10**PREFIX_DIGITS
# A gated prefix needs one more bit of work each time its failures double; at this many times
# the budget it is closed, proof-of-work or not, until its windows move on. This is what bounds
# someone who pays every proof-of-work (with native code or a GPU, 2**17 hashes are nothing):
# at most CLOSED_FACTOR x budget guesses under one prefix per process in ten to twenty minutes.
CLOSED_FACTOR = 8
# Wrong secrets per minute in one process above which it says so in the log (once a minute).
ALARM_PER_MINUTE = 100


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
# Submissions let in past ``submissions`` by a solved proof-of-work (haven.portal.pow).
paid_submissions = WindowLimiter(lambda: int(settings.HAVEN_PORTAL_POW_CEILING_PER_MINUTE))


@dataclass(frozen=True)
class Gate:
    """What a look-up under one prefix needs now: nothing (``bits`` 0), a proof-of-work of
    ``bits``, or to wait (``closed``); ``retry_after`` seconds until that may change."""

    bits: int = 0
    closed: bool = False
    retry_after: int = 0

    @property
    def free(self) -> bool:
        return not self.closed and self.bits == 0


class PrefixFailures:
    """Wrong tries per prefix bucket (0 … BUCKETS-1) in this and the previous ten-minute
    window: two arrays of counters that stop at 255, about 200 KB."""

    def __init__(self, name: str, clock: Callable[[], float] = time.time):
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._current = bytearray(BUCKETS)
        self._previous = bytearray(BUCKETS)
        self._minute = -1
        self._per_minute = 0

    def _roll(self) -> int:
        now = self._clock()
        window = int(now // PREFIX_WINDOW_SECONDS)
        if window != self._window:
            if window == self._window + 1:
                self._previous, self._current = self._current, bytearray(BUCKETS)
            else:
                self._previous, self._current = bytearray(BUCKETS), bytearray(BUCKETS)
            self._window = window
        return int(now)

    def failures(self, bucket: int) -> int:
        with self._lock:
            self._roll()
            return self._current[bucket] + self._previous[bucket]

    def record(self, bucket: int) -> None:
        """Count one wrong try under ``bucket``."""
        with self._lock:
            now = self._roll()
            if self._current[bucket] < 255:
                self._current[bucket] += 1
            minute = now // 60
            if minute != self._minute:
                self._minute, self._per_minute = minute, 0
            self._per_minute += 1
            alarm = self._per_minute == ALARM_PER_MINUTE
        if alarm:  # a number, never a prefix or anything about a client
            logger.warning(
                "portal: %d wrong %s in the last minute in this process (guessing?)",
                ALARM_PER_MINUTE,
                self.name,
            )

    def gate(self, bucket: int) -> Gate:
        """What a look-up under ``bucket`` needs now."""
        budget = max(1, int(settings.HAVEN_PORTAL_RECEIPT_FAILURES_PER_PREFIX))
        with self._lock:
            now = self._roll()
            current, previous = self._current[bucket], self._previous[bucket]
        failures = current + previous
        if failures < budget:
            return Gate()
        # Until the counts that put it over have left both windows (at most twenty minutes).
        window_end = (now // PREFIX_WINDOW_SECONDS + 1) * PREFIX_WINDOW_SECONDS
        retry_after = window_end - now + (PREFIX_WINDOW_SECONDS if current >= budget else 0)
        base = pow_bits()
        if failures >= CLOSED_FACTOR * budget or base <= 0:
            return Gate(closed=True, retry_after=retry_after)
        return Gate(bits=base + int(math.log2(failures / budget)), retry_after=retry_after)

    def reset(self) -> None:
        with self._lock:
            self._window = -1
            self._current = bytearray(BUCKETS)
            self._previous = bytearray(BUCKETS)
            self._minute, self._per_minute = -1, 0


receipt_failures = PrefixFailures("receipts")
broker_failures = PrefixFailures("broker access codes")


def receipt_bucket(receipt: str) -> int:
    """A normalised receipt's bucket: its first five digits."""
    return int(receipt[:PREFIX_DIGITS])


def credential_bucket(credential: str) -> int:
    """A normalised broker access code's bucket: its first five characters, hashed onto the
    same number of buckets (the code's alphabet has 31 symbols)."""
    digest = hashlib.blake2b(credential[:PREFIX_DIGITS].encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def reset_all() -> None:
    """Empty every limiter (tests)."""
    submissions.reset()
    paid_submissions.reset()
    receipt_failures.reset()
    broker_failures.reset()
