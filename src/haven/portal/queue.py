"""Portal requests taken in a surge: stored as one sealed row, opened later by staff pages.

Writing a portal request whole costs 16-22 ms of a core (the receipt's Argon2id, a dozen sealed
keys, the request's rows, counts and audit entry), so two cores take about 100 a second. After
a raid or a border closure more may come. In a surge the portal instead seals everything the
requester sent, with the receipt it shows them, in one box to the intake key
(:func:`haven.crypto.queued_seal`), and stores that row with the form's used token and an audit
entry: a few milliseconds. The next pages of someone who holds the intake key open queued
requests, oldest first, into the same request, people, cases, receipt and counts the portal
would have written, dated when they arrived, and delete the row in the same transaction
(:func:`portal_queue_open`): the request inbox and the API's list one before their answer while
few wait (:func:`portal_queue_open_before_answer`), the inbox and the dashboard a batch after it
while the machine is quiet (:func:`machine_quiet`).

When (``HAVEN_PORTAL_QUEUE``): ``off`` never; ``on`` always; ``surge`` (the default) when this
process has taken more than ``HAVEN_PORTAL_QUEUE_SURGE_PER_SECOND`` requests in the last second.
Requests with files are never queued: their files are cleaned by the decoder and stored with
them.

Until it is opened a queued request is not in the inbox (the inbox says how many wait), and its
receipt finds nothing on the status page (which says that a request sent at a busy time may take
a while to appear). Its receipt lies in the box instead of as an Argon2id digest: whoever holds
the intake key and reads the database before it is opened learns it (docs/security.md).
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from haven.audit.services import audit_record
from haven.crypto import CryptoError, KeyContext, queued_seal
from haven.once import used_tokens_forget
from haven.portal.models import QueuedRequest, UsedFormToken
from haven.portal.receipts import receipt_keys_of, receipt_new, receipt_normalise
from haven.portal.selectors import intake_key, queued_request_count
from haven.portal.services import (
    AlreadySubmittedError,
    PortalUnavailableError,
    Submission,
    _holders,
    _store,
    _token_digest,
    _token_used,
    requester_key_new,
    submission_clean,
)
from haven.vault import integrity

logger = logging.getLogger(__name__)

# What a staff page opens: before its answer (the inbox: the oldest waiting appears at once) and,
# when the machine is quiet, after it.
OPEN_BEFORE_ANSWER = 1
# ... before its answer only while at most this many wait: the end of a surge, when the oldest
# appearing matters. In a surge of thousands one more changes nothing for the backlog and cost
# every inbox load its opening (20-45 ms: a PostgreSQL inbox's p50 went from 115 to 192 ms under
# a working day with the portal streaming).
OPEN_BEFORE_ANSWER_WHILE = 20
OPEN_AFTER_ANSWER = 25
# ... for at most this long: the work holds the page's worker, which others may be waiting for.
OPEN_AFTER_ANSWER_SECONDS = 0.5
# Quiet: the one-minute load average under this share of the cores. Opening costs more of a core
# than taking the request did (the receipt's Argon2id and every sealed key, ~18 ms), so in a
# surge it waits for the surge to pass instead of slowing the staff's pages and the portal.
QUIET_LOAD_PER_CORE = 0.5
SURGE_WINDOW_SECONDS = 1.0


class _RecentRequests:
    """Requests this process took in the last second (per process and in memory, like the
    portal's other limits)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def count_one(self) -> int:
        """Count a request now; how many there were in the last second, this one included."""
        now = self._clock()
        with self._lock:
            while self._times and now - self._times[0] >= SURGE_WINDOW_SECONDS:
                self._times.popleft()
            self._times.append(now)
            return len(self._times)

    def reset(self) -> None:
        with self._lock:
            self._times.clear()


recent = _RecentRequests()


def machine_quiet() -> bool:
    """Whether the host has processor time to spare for opening queued requests in the
    background (always True where the load average cannot be read)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return True
    return load < QUIET_LOAD_PER_CORE * (os.cpu_count() or 1)


@contextmanager
def background_turn() -> Iterator[bool]:
    """Whether this worker may open queued requests in the background now: one worker of this
    host at a time (a lock file in the data folder, held until the work ends; not waited for).
    The load average trails by a minute: without a turn, every inbox and dashboard answered in
    a burst left its worker opening for half a second, and the next pages queued behind them."""
    path = settings.DATA_DIR / "portal-queue-open.lock"
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        logger.warning("cannot open %s: queued requests are not opened in the background", path)
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # and with it the lock


def portal_queue_wanted(*, has_files: bool) -> bool:
    """Whether the request being sent now is queued (counts it towards the surge)."""
    mode = settings.HAVEN_PORTAL_QUEUE
    if mode == "off" or has_files:
        return False
    taken = recent.count_one()
    return mode == "on" or taken > int(settings.HAVEN_PORTAL_QUEUE_SURGE_PER_SECOND)


def portal_request_queue(*, submission: Submission, form_token: str) -> str:
    """Check a portal request as :func:`~haven.portal.services.portal_request_create` does and
    store it as one row sealed to the intake key; return its receipt (shown once, as always).

    The form token's use, the row and an audit entry are written in one transaction. Raises
    ValidationError (nothing stored), :class:`AlreadySubmittedError` or
    :class:`PortalUnavailableError`; ValueError for a request with files (never queued).
    """
    if submission.files:
        raise ValueError("a request with files is written whole, never queued")
    submission_clean(submission)
    intake = intake_key()
    if intake is None:
        raise PortalUnavailableError("no intake team key")
    integrity.team_key_check(intake)  # never seal to a public key someone swapped in
    # No look-up first, as a request written whole does: a replayed form costs nothing here that
    # its token's unique row, inserted first, does not stop.
    token_digest = _token_digest(form_token)
    receipt = receipt_new()
    row_id = uuid.uuid4()
    now = timezone.now()
    sealed = queued_seal(
        bytes(intake.public_key),
        {
            "id": str(row_id),
            "receipt": receipt,
            "names": list(submission.names),
            "country": submission.country,
            "region": submission.region,
            "urgency": submission.urgency,
            "account": submission.account,
            "contact": submission.contact,
        },
    )
    row = QueuedRequest(id=row_id, received_at=now, team_key=intake, sealed=sealed)
    integrity.queued_request_tag(row)
    try:
        with transaction.atomic():
            used_tokens_forget(now)
            UsedFormToken.objects.create(digest=token_digest, used_at=now)
            row.save(force_insert=True)
            audit_record(
                actor=None, action="portal.queued", detail={"people": len(submission.names)}
            )
    except IntegrityError as exc:
        if _token_used(token_digest):
            raise AlreadySubmittedError from exc
        raise
    return receipt


class _OpenedElsewhereError(Exception):
    """Another page opened this queued request first."""


def _claim(row_id: Any) -> None:
    # The delete is the claim: on PostgreSQL a second page deleting the same row waits for the
    # first to commit and then deletes nothing; on SQLite writers queue on the one lock.
    if QueuedRequest.objects.filter(pk=row_id).delete()[0] == 0:
        raise _OpenedElsewhereError


def _submission_of(data: dict[str, Any]) -> Submission:
    names = data["names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CryptoError("a queued request's names are not a list of text")
    return Submission(
        names=names,
        country=str(data["country"]),
        region=str(data["region"]),
        urgency=int(data["urgency"]),
        account=str(data["account"]),
        contact=str(data["contact"]),
    )


def portal_queue_open_before_answer(*, ctx: KeyContext, actor: Any) -> int:
    """What a page that lists requests opens before its answer: the oldest queued request
    (:data:`OPEN_BEFORE_ANSWER`), unless more than :data:`OPEN_BEFORE_ANSWER_WHILE` wait (a
    surge: they are opened after answers, when the machine is quiet). Returns how many still
    wait, for the page's notice."""
    waiting = queued_request_count()
    if 0 < waiting <= OPEN_BEFORE_ANSWER_WHILE:
        waiting -= portal_queue_open(ctx=ctx, actor=actor, limit=OPEN_BEFORE_ANSWER)
    return max(waiting, 0)


def portal_queue_open(
    *,
    ctx: KeyContext,
    actor: Any,
    limit: int,
    seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Open up to ``limit`` queued portal requests that ``ctx`` can open (it holds the intake
    key they were sealed to), oldest first, each into the request the portal would have written
    (:func:`~haven.portal.services._store`, dated when it arrived) in its own transaction, which
    also deletes the queued row; none is started once ``seconds`` have passed. Returns how many
    were opened.

    A row without Haven's integrity tag, or that does not open as a queued request (someone
    wrote to the database), is deleted with an audit entry; a genuine one that cannot be written
    is set aside (``failed_at``, audited) so that it holds up nobody, and one that fails for a
    passing reason (a lock timeout) keeps its place and ends the batch; rows under a key whose
    share does not open for this person are left. A row another page opens at the same time is
    left to it. ``actor`` is who opened them (their page's session goes on the audit entries).
    """
    held = _openable_keys(ctx)
    if not held or limit <= 0:
        return 0
    rows = list(
        QueuedRequest.objects.filter(team_key_id__in=held, failed_at__isnull=True).order_by(
            "received_at", "pk"
        )[:limit]
    )
    if not rows:
        return 0
    try:
        sealing = _holders()
    except PortalUnavailableError:
        logger.warning("queued portal requests wait: the organisation has no intake key")
        return 0
    opened = 0
    started = clock()
    for row in rows:
        if seconds is not None and clock() - started >= seconds:
            break
        try:
            opened += _open_one(ctx=ctx, actor=actor, row=row, sealing=sealing)
        except _OpenedElsewhereError:
            continue
        except IntegrityError:
            # Fails the same way every time (a copy of an opened row put back collides with its
            # receipt): set aside so that it holds up nobody.
            logger.exception("a queued portal request could not be written: set aside")
            _set_aside(row=row, actor=actor, reason="write")
        except Exception:  # noqa: BLE001 - a staff page must answer whatever one row does
            # Busy or broken for now (a lock timeout in a surge): the row keeps its place for
            # the next page. Setting a genuine request aside for a passing error would hide it.
            logger.exception("a queued portal request could not be written now: left in line")
            break
    return opened


def _openable_keys(ctx: KeyContext) -> list[str]:
    """The team keys ``ctx`` holds and can open now. A share that does not open is this
    person's problem, not the rows': their rows are left for someone else, never refused."""
    keys = []
    for ref in ctx.holder_refs():
        if not ref.startswith("t:"):
            continue
        try:
            ctx.holder_public_key(ref)
        except CryptoError:
            continue
        keys.append(ref[2:])
    return keys


def _open_one(*, ctx: KeyContext, actor: Any, row: QueuedRequest, sealing: Any) -> int:
    """Open one queued row into its request; 1 when written, 0 when refused or set aside."""
    try:
        integrity.queued_request_check(row)  # made by this Haven's portal, as it was made
        data = ctx.queued_open(f"t:{row.team_key_id}", bytes(row.sealed))
        if data.get("id") != str(row.pk):
            raise CryptoError("a queued request moved to another row")
        receipt = receipt_normalise(data.get("receipt"))
        if receipt is None:
            raise CryptoError("a queued request without a receipt")
        submission = _submission_of(data)
    except (CryptoError, KeyError, TypeError, ValueError):
        _refuse(row=row, actor=actor)
        return 0
    try:
        cleaned = submission_clean(submission)
    except ValidationError:
        # Checked when it was sent: refused now only if the checks changed since. Kept for a
        # supervisor rather than lost, and out of the line.
        _set_aside(row=row, actor=actor, reason="checks")
        return 0
    keys = receipt_keys_of(receipt)  # Argon2id outside the transaction
    _store(
        cleaned=cleaned,
        sealing=sealing,
        token_digest=None,
        receipt_digest=keys.lookup,
        requester_key=requester_key_new(keys),
        received_at=row.received_at,
        claim=functools.partial(_claim, row.pk),
        opener=ctx,
    )
    return 1


def _refuse(*, row: QueuedRequest, actor: Any) -> None:
    logger.warning("a queued portal request was not made by this portal: deleted")
    with transaction.atomic():
        if QueuedRequest.objects.filter(pk=row.pk).delete()[0]:
            audit_record(
                actor=actor,
                action="portal.queued_refused",
                detail={"received_at": row.received_at.isoformat()},
            )


def _set_aside(*, row: QueuedRequest, actor: Any, reason: str) -> None:
    """Keep a genuine row that cannot be written now out of the line (``failed_at``), audited,
    so that it holds up nobody behind it; `portal.queued_set_aside` tells a supervisor."""
    with transaction.atomic():
        if QueuedRequest.objects.filter(pk=row.pk, failed_at__isnull=True).update(
            failed_at=timezone.now()
        ):
            audit_record(
                actor=actor,
                action="portal.queued_set_aside",
                detail={"received_at": row.received_at.isoformat(), "reason": reason},
            )
