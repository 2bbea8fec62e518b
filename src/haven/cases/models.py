"""Requests, people, cases, groups, journey events and notes.

Plain columns: ids, states, timestamps, urgency, coarse ISO country codes and counts only.
Everything else is in the encrypted ``payload`` (see docs/security.md for the list).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.cases.journey import State
from haven.vault.models import SealedRecord


class Urgency(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    CRITICAL = 4, _("Critical")


class Channel(models.TextChoices):
    DIRECT_LINE = "direct_line", _("Direct line")
    BROKER = "broker", _("Broker")
    PARTNER = "partner", _("Partner")
    STAFF = "staff", _("Staff")


class RequestStatus(models.TextChoices):
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    DECLINED = "declined", _("Declined")
    DUPLICATE = "duplicate", _("Duplicate")


class Source(models.TextChoices):
    REQUESTER = "requester", _("Requester")
    BROKER = "broker", _("Broker")
    PARTNER = "partner", _("Partner")
    PRESS = "press", _("Press")
    STAFF = "staff", _("Staff")


class Confidence(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    LIKELY = "likely", _("Likely")
    UNVERIFIED = "unverified", _("Unverified")


class Request(SealedRecord):
    """What arrived, by which channel, covering one or more people.

    Payload: ``account`` (as told), ``contact``, ``people_as_told``.
    """

    sealed_bindings = ("channel", "broker_id")

    channel = models.CharField(max_length=20, choices=Channel.choices)
    received_at = models.DateTimeField(db_index=True)
    urgency = models.PositiveSmallIntegerField(choices=Urgency.choices, default=Urgency.NORMAL)
    status = models.CharField(
        max_length=12, choices=RequestStatus.choices, default=RequestStatus.NEW
    )
    people_count = models.PositiveIntegerField(default=1)
    broker = models.ForeignKey(
        "brokers.Broker", null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    # Whether its latest message came from its requester or broker (a reply is owed): kept by
    # haven.messaging.services as messages are written, so that the navigation's notice and the
    # inbox's filter read a flag instead of every request's latest message.
    awaiting_reply = models.BooleanField(default=False)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["status", "-received_at"]),
            # The inbox's order: read in it and stop at a page, not sort every request first.
            models.Index(fields=["-urgency", "-received_at"]),
            models.Index(
                fields=["-urgency", "-received_at"],
                condition=models.Q(awaiting_reply=True),
                name="cases_request_awaiting_idx",
            ),
        ]


class Group(SealedRecord):
    """People travelling together. Payload: ``label`` (an internal name)."""

    created_at = models.DateTimeField(auto_now_add=True)
    request = models.ForeignKey(Request, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at"]


class Person(SealedRecord):
    """Who a case is about. Shares the case's data key.

    Payload: ``name_hangul``, ``name_romanized``, ``aliases``, ``sex``, ``birth`` (``value`` and
    ``precision``: year/month/day), ``origin_region``, ``occupation``, ``family`` (links to other
    people by id with the relation).
    """

    created_at = models.DateTimeField(auto_now_add=True)


class Case(SealedRecord):
    """One person's file. Payload: ``own_words`` (on choosing to leave), ``exact_place``, ``summary``."""

    sealed_bindings = ("person_id",)

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="case")
    request = models.ForeignKey(
        Request, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_cases",
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL)
    state = models.CharField(max_length=20, choices=State.choices, default=State.RECEIVED)
    returns_to = models.CharField(
        max_length=20, blank=True, help_text="While in lost_contact: the state it left."
    )
    urgency = models.PositiveSmallIntegerField(choices=Urgency.choices, default=Urgency.NORMAL)
    country = models.CharField(max_length=2, blank=True, help_text="Coarse: ISO 3166 code only.")
    opened_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    state_changed_at = models.DateTimeField()
    next_contact_due = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-urgency", "-opened_at"]
        indexes = [
            models.Index(fields=["state", "-urgency", "-opened_at"]),
            # With state, the overdue count is answered from the index alone.
            models.Index(fields=["next_contact_due", "state"]),
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["-urgency", "-opened_at"]),
            # Counts by state answered from the index alone (each row's grant is then checked).
            models.Index(fields=["state", "data_key"], name="cases_case_state_key_idx"),
        ]


class JourneyEvent(SealedRecord):
    """One step of the journey. Payload: ``region``, ``place`` (exact), ``note``."""

    sealed_bindings = ("case_id", "from_state", "to_state", "case_version")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=State.choices)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    country = models.CharField(max_length=2, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices)
    confidence = models.CharField(max_length=12, choices=Confidence.choices)
    case_version = models.PositiveIntegerField(help_text="The case's version this event produced.")

    class Meta:
        ordering = ["occurred_at", "case_version"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "case_version"], name="one_event_per_case_version"
            )
        ]


class Note(SealedRecord):
    """A caseworker's note on a case. Payload: ``text``."""

    sealed_bindings = ("case_id",)

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]


# --- Counts kept at write time (haven.cases.tallies) ----------------------------------------------


class HolderSet(models.Model):
    """One distinct set of key holders (people and team keys) that cases are granted to."""

    digest = models.BinaryField(max_length=16, unique=True)

    def __str__(self) -> str:
        return f"Holder set {self.pk}"


class HolderSetMember(models.Model):
    """One holder of a set: ``u:<user id>`` or ``t:<team key id>``."""

    holder_set = models.ForeignKey(HolderSet, on_delete=models.CASCADE, related_name="members")
    ref = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ref", "holder_set"], name="one_member_per_set")
        ]

    def __str__(self) -> str:
        return f"{self.ref} in {self.holder_set_id}"


class CaseTally(models.Model):
    """Where a case is counted: its holder set, state and urgency as last settled. The case id
    is not a foreign key: when a case is deleted, its tally is what says what to take away."""

    case_id = models.UUIDField(primary_key=True)
    holder_set = models.ForeignKey(HolderSet, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=20)
    urgency = models.PositiveSmallIntegerField()
    # The day (UTC) of the next contact while the case is open; counted in HolderSetDue.
    due = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Tally of {self.case_id}"


class HolderSetCount(models.Model):
    """How many cases a holder set has in one state and urgency (split over a few shards)."""

    holder_set = models.ForeignKey(HolderSet, on_delete=models.CASCADE, related_name="counts")
    state = models.CharField(max_length=20)
    urgency = models.PositiveSmallIntegerField()
    shard = models.PositiveSmallIntegerField(default=0)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["holder_set", "state", "urgency", "shard"], name="one_count_per_shard"
            )
        ]

    def __str__(self) -> str:
        return f"{self.n} of {self.holder_set_id} in {self.state}"


class HolderSetDue(models.Model):
    """How many open cases of a holder set have their next contact due on one day (UTC): the
    dashboard's overdue count is a sum of these for the days before today and a count of today's
    cases alone. Not sharded: writers rarely share a day."""

    holder_set = models.ForeignKey(HolderSet, on_delete=models.CASCADE, related_name="due")
    day = models.DateField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["holder_set", "day"], name="one_due_count_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.n} of {self.holder_set_id} due {self.day}"


class RequestTally(models.Model):
    """Where a request is counted: its holder set and triage status as last settled (the
    inbox's counts, as :class:`CaseTally` is the case list's)."""

    request_id = models.UUIDField(primary_key=True)
    holder_set = models.ForeignKey(HolderSet, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20)

    def __str__(self) -> str:
        return f"Tally of request {self.request_id}"


class HolderSetRequestCount(models.Model):
    """How many requests a holder set has in one triage status (split over a few shards)."""

    holder_set = models.ForeignKey(
        HolderSet, on_delete=models.CASCADE, related_name="request_counts"
    )
    status = models.CharField(max_length=20)
    shard = models.PositiveSmallIntegerField(default=0)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["holder_set", "status", "shard"], name="one_request_count_per_shard"
            )
        ]

    def __str__(self) -> str:
        return f"{self.n} requests of {self.holder_set_id} {self.status}"


class TallyDirty(models.Model):
    """A case (``case_id``), a request (``request_id``) or a data key's grants (``data_key_id``)
    written in a transaction, noted by a trigger (migrations ``cases.0005``, ``cases.0010``) and
    settled before it commits."""

    id = models.BigAutoField(primary_key=True)
    case_id = models.UUIDField(null=True)
    request_id = models.UUIDField(null=True)
    data_key_id = models.UUIDField(null=True)
    # PostgreSQL: the transaction that wrote it (txid_current()); SQLite has one writer at a time.
    txid = models.BigIntegerField(null=True, db_index=True)

    def __str__(self) -> str:
        return f"Noted {self.case_id or self.data_key_id}"
