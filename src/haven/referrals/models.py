from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.vault.models import SealedRecord

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Purpose(models.TextChoices):
    RELIEF = "relief", _("Relief and protection")
    RESETTLEMENT = "resettlement", _("Resettlement")
    TRAVEL = "travel", _("Travel documents")
    MEDICAL = "medical", _("Medical care")


class ConsentMethod(models.TextChoices):
    OWN_WORDS = "own_words", _("In the person's own words")
    VIA_BROKER = "via_broker", _("Via broker")
    VERBAL = "verbal", _("Verbal, to staff")
    WRITTEN = "written", _("Written")


class ReferralStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# What a referral may disclose; consent names a subset, a referral a subset of that.
DISCLOSABLE_FIELDS: dict[str, StrOrPromise] = {
    "name_hangul": _("Name in Hangul"),
    "name_romanized": _("Romanized name"),
    "aliases": _("Aliases"),
    "sex": _("Sex"),
    "birth": _("Birth date or year"),
    "origin_region": _("Origin region"),
    "occupation": _("Occupation"),
    "family": _("Family"),
    "current_country": _("Current country"),
    "exact_place": _("Exact place"),
    "own_words": _("Own words on choosing to leave"),
}


class Partner(models.Model):
    """A government agency or organisation that receives referrals. Not a person: plain."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    country = models.CharField(max_length=2)
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Consent(SealedRecord):
    """What the person agreed to: which partner, which purpose, which fields, how, when.

    Payload: ``words`` (the person's words, or how it was relayed).
    """

    # ``is_valid`` too: reviving a revoked consent in the database must not pass unnoticed.
    sealed_bindings = ("case_id", "partner_id", "purpose", "fields", "is_valid")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="consents")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    fields = models.JSONField(default=list)
    method = models.CharField(max_length=20, choices=ConsentMethod.choices)
    given_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-given_at"]

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None


class Referral(SealedRecord):
    """A referral of one case to a partner, resting on one consent. Payload: ``cover_note``."""

    sealed_bindings = (
        "case_id",
        "partner_id",
        "purpose",
        "disclosed_fields",
        "consent_id",
        "status",
        "was_sent",
    )

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="referrals")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="referrals")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    consent = models.ForeignKey(
        Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    disclosed_fields = models.JSONField(default=list)
    status = models.CharField(
        max_length=14, choices=ReferralStatus.choices, default=ReferralStatus.DRAFT
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    @property
    def was_sent(self) -> bool:
        return self.sent_at is not None
