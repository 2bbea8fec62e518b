from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.vault.models import SealedRecord


class BrokerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class Broker(SealedRecord):
    """Someone who asks on behalf of others.

    Payload: ``alias``, ``region``, ``contact``, ``fee_notes``, ``warnings``. Their record
    (requests, outcomes) is derived from the requests they brought, never stored twice.
    """

    status = models.CharField(
        max_length=12, choices=BrokerStatus.choices, default=BrokerStatus.ACTIVE
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]


class BrokerCredential(models.Model):
    """A broker's way into the portal's broker pages (at most one live per broker).

    The credential itself is shown once to the issuing supervisor and stored only as a BLAKE2b
    digest (:func:`haven.crypto.secret_digest`). The broker's key pair, to which the keys of their
    conversations are sealed, is stored with its private half wrapped under Argon2id(credential).
    Suspending the broker deletes the row (and every session), so the credential stops at once.
    """

    broker = models.OneToOneField(Broker, on_delete=models.CASCADE, related_name="credential")
    digest = models.BinaryField(max_length=32, unique=True)
    public_key = models.BinaryField(max_length=32)
    wrapped_private = models.BinaryField()
    issued_at = models.DateTimeField()
    # Haven's integrity tag over the key columns (haven.vault.integrity), checked before use.
    tag = models.BinaryField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"credential of broker {self.broker_id}"


class BrokerSession(models.Model):
    """A broker's short login (after typing the credential): the cookie holds a random secret,
    stored here only as its digest; the broker's private key is kept encrypted under it."""

    digest = models.BinaryField(max_length=32, unique=True)
    broker = models.ForeignKey(Broker, on_delete=models.CASCADE, related_name="sessions")
    key_blob = models.BinaryField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"session of broker {self.broker_id}"
