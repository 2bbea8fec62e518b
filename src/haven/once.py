"""One-time form tokens: a form that stores something is stored once, however often it is sent.

A double click, a browser's resend or a retry on a slow network sends the same form twice. The
portal's request form has always refused the second one (haven.portal.forms); the staff forms
that create something (a request, a note, a message) do the same: each page carries a signed
random token in the ``once`` field, and the service that stores the form spends it inside its
own transaction, as a digest in a unique row (``UsedFormToken``, shared with the portal
under another prefix). The second POST then stores nothing, and the page says it was stored
already. A failed write spends nothing (the row is rolled back with it).

A form without a valid token (an API call, a page left open longer than a token lives) is
stored as before: the token guards against accidents, not against someone who sends a form
twice on purpose, which they could always do by filling it in twice.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import time

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from haven.crypto import secret_digest
from haven.portal.models import UsedFormToken

FIELD = "once"
LIFETIME = dt.timedelta(hours=6)  # a token is accepted, and its used row kept, this long
_SALT = "haven.staff-form-once"
_MAX_CHARS = 200


class AlreadyStoredError(Exception):
    """This form was stored already (its one-time token was spent)."""


def once_token_new() -> str:
    """A new signed one-time token for one staff form page."""
    return signing.TimestampSigner(salt=_SALT).sign(secrets.token_urlsafe(16))


def once_token_check(value: object) -> str | None:
    """The token's random part if it is ours and younger than its lifetime, else None."""
    if not isinstance(value, str) or not value or len(value) > _MAX_CHARS:
        return None
    try:
        return signing.TimestampSigner(salt=_SALT).unsign(value, max_age=LIFETIME)
    except signing.BadSignature:
        return None


def once_token_spend(*, token: str | None) -> None:
    """Spend a checked token (:func:`once_token_check`) in the caller's transaction; ``None``
    spends nothing. Raises :class:`AlreadyStoredError` if it was spent before; the caller's
    transaction then stores nothing."""
    if token is None:
        return
    now = timezone.now()
    used_tokens_forget(now)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable
            UsedFormToken.objects.create(digest=secret_digest(f"staff-form:{token}"), used_at=now)
    except IntegrityError as exc:
        raise AlreadyStoredError from exc


_forgotten_at = -math.inf


def used_tokens_forget(now: dt.datetime) -> None:
    """Drop used form tokens (staff and portal) older than any form still accepted, at most once
    a minute per process: a used token only has to outlive its form's lifetime."""
    global _forgotten_at
    if time.monotonic() - _forgotten_at < 60:
        return
    UsedFormToken.objects.filter(used_at__lt=now - LIFETIME).delete()
    _forgotten_at = time.monotonic()
