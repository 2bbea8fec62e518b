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
