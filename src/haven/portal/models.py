"""What the requester portal stores besides the request itself (which lives in haven.cases).

Nothing here identifies the client: no address, no user agent, no receipt. A receipt is kept
only as its Argon2id digest under the organisation's receipt salt; a submitted form's one-time
token only as a keyed digest, to refuse a second submission of the same form.
"""

from __future__ import annotations

from django.db import models


class ReceiptSalt(models.Model):
    """The organisation-wide salt and cost of receipt digests (a single row, created on first use).

    The cost is stored with the salt so that changing the settings later does not orphan the
    receipts already given out; :func:`haven.crypto.receipt_digest` refuses absurd values.
    """

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON)
    salt = models.BinaryField()
    opslimit = models.PositiveIntegerField()
    memlimit = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return "receipt salt"


class Receipt(models.Model):
    """The requester's way back to their request: looked up by the digest of what they type."""

    digest = models.BinaryField(max_length=32, unique=True)
    request = models.OneToOneField(
        "cases.Request", on_delete=models.CASCADE, related_name="portal_receipt"
    )
    created_at = models.DateTimeField()
    # To the minute: shown to the requester as "last used" (the "this was not me" signal).
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"receipt of request {self.request_id}"


class UsedFormToken(models.Model):
    """A submitted request form's one-time token (keyed digest), so that a refresh or a double
    click cannot file the same request twice. Rows older than the token's lifetime are purged."""

    digest = models.BinaryField(max_length=32, unique=True)
    used_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"form token used at {self.used_at:%Y-%m-%d %H:%M}"


class QueuedRequest(models.Model):
    """A portal request taken in a surge and not opened yet (haven.portal.queue): everything
    the requester sent, their receipt included, sealed whole to the intake key. A staff page
    of someone who holds that key opens it into a request, its people and cases, and deletes
    this row in the same transaction. Unopened, it tells the database only that a request
    arrived, when, and roughly how long it is."""

    id = models.UUIDField(primary_key=True)
    received_at = models.DateTimeField(db_index=True)
    team_key = models.ForeignKey("vault.TeamKey", on_delete=models.CASCADE, related_name="+")
    sealed = models.BinaryField()
    # Haven's integrity tag over the row (haven.vault.integrity): the box alone proves nothing.
    tag = models.BinaryField()
    # Set when opening it failed (its checks, or its write): kept for a supervisor, out of line.
    failed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"request queued at {self.received_at:%Y-%m-%d %H:%M}"
