"""Messages between staff and a request's requester or broker.

A request's conversation has its own data key (the *conversation key*), sealed like any data key
to the request's holders and the recovery key (``vault.Grant``), and in addition to the party
outside: the requester (a key pair derived from their receipt, :class:`RequesterKey`) or the
broker (a key pair wrapped under their credential, ``brokers.BrokerCredential``). Every message
of the conversation is a :class:`~haven.vault.models.SealedRecord` under that key.

Plain columns: ids, the request, who wrote it (staff member, requester or broker) and when.
The body is in the payload only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.vault.models import SealedRecord


class Author(models.TextChoices):
    STAFF = "staff", _("Staff")
    REQUESTER = "requester", _("Requester")
    BROKER = "broker", _("Broker")


class RequesterKey(models.Model):
    """A portal requester's key pair: the public half, and the private half wrapped under the
    receipt's wrapping key (:class:`haven.crypto.ReceiptKeys`, from Argon2id over the receipt)."""

    request = models.OneToOneField(
        "cases.Request", on_delete=models.CASCADE, related_name="requester_key"
    )
    public_key = models.BinaryField(max_length=32)
    wrapped_private = models.BinaryField()
    created_at = models.DateTimeField()
    # Haven's integrity tag over the key columns (haven.vault.integrity), checked before use.
    tag = models.BinaryField(null=True, blank=True)

    def __str__(self) -> str:
        return f"requester key of request {self.request_id}"


class Conversation(models.Model):
    """The conversation of one request: its key, and that key sealed to the party outside."""

    request = models.OneToOneField(
        "cases.Request", on_delete=models.CASCADE, related_name="conversation"
    )
    data_key = models.ForeignKey("vault.DataKey", on_delete=models.PROTECT, related_name="+")
    party = models.CharField(max_length=12, choices=Author.choices)
    party_public_key = models.BinaryField(max_length=32)
    # The conversation key sealed to the requester's or broker's public key.
    party_sealed = models.BinaryField()
    # Haven's integrity tag over the key columns (haven.vault.integrity), checked before use.
    tag = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"conversation of request {self.request_id}"


class Message(SealedRecord):
    """One message. Payload: ``body``. Sealed under its conversation's key."""

    sealed_bindings = ("request_id", "author_kind", "author_id", "broker_id")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    request = models.ForeignKey("cases.Request", on_delete=models.CASCADE, related_name="+")
    author_kind = models.CharField(max_length=12, choices=Author.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    broker = models.ForeignKey(
        "brokers.Broker", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["request", "created_at"])]
