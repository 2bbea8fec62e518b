"""Data keys and the abstract base every record with sensitive content inherits.

A record's plain columns hold only ids, states, timestamps, urgency, coarse country codes and
counts. Everything that identifies or locates a person lives in ``payload``, encrypted under the
record's data key (see :mod:`haven.crypto`). Read and write it only through :mod:`haven.vault.sealed`.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models


class DataKey(models.Model):
    """One random data key, stored only sealed: to each holder (:class:`Grant`) and to the
    recovery key. What payloads are encrypted with is derived from it and the secret in its slot
    of the erasure store (:class:`haven.crypto.ErasureStore`), outside the database: destroying
    the key erases that slot, so no copy of what was sealed here opens anything afterwards."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recovery_sealed = models.BinaryField()
    # None: a key made before erasure secrets existed (its sealed material is the key itself).
    erasure_slot = models.BigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Haven's integrity tag over the key columns (haven.vault.integrity), checked before use.
    tag = models.BinaryField(null=True, blank=True)

    def __str__(self) -> str:
        return f"DataKey {self.id}"


class ErasedKey(models.Model):
    """The shred ledger: an erasure slot whose key was destroyed. Written in the destroying
    transaction, erased from the store once that commits (``erased_at``); ``haven purge`` finishes
    any a crash interrupted, and a restore applies the ledger again to an older store."""

    slot = models.BigIntegerField(primary_key=True)
    destroyed_at = models.DateTimeField()
    erased_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Erased slot {self.slot}"


class SealedRecord(models.Model):
    """Abstract: a versioned record whose sensitive fields live in an encrypted payload."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    data_key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="+")
    payload = models.BinaryField()
    version = models.PositiveIntegerField(default=1)

    # Plain columns whose values the payload is bound to (through the AEAD's associated data), so
    # that someone with write access to the database cannot re-point a note to another case or
    # widen what a consent covers without the payload failing to open. Only columns that no
    # service changes without re-sealing, and none that the database may null on its own.
    sealed_bindings: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True


class OrgKeys(models.Model):
    """The organisation's public key material (one row): the recovery key's public half.

    The recovery key's private half is never stored: it exists only as the printed words.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    recovery_public_key = models.BinaryField()
    # Which erasure store this database's keys use (its random id, not a secret): `haven check`
    # refuses a store that belongs to another database.
    erasure_store_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Haven's integrity tag over the key columns (haven.vault.integrity), checked before use.
    tag = models.BinaryField(null=True, blank=True)

    class Meta:
        verbose_name = "organisation keys"
        verbose_name_plural = "organisation keys"

    def __str__(self) -> str:
        return "Organisation keys"


class UserKey(models.Model):
    """A staff member's X25519 key pair; the private half only wrapped by their password."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="key"
    )
    public_key = models.BinaryField()
    wrapped_private = models.BinaryField()
    created_at = models.DateTimeField()
    # While `haven keys rotate-user` runs: the replacement pair. Grants and shares get a copy
    # sealed to it (`sealed_next`) until one transaction swaps everything over.
    next_public_key = models.BinaryField(null=True, blank=True)
    next_wrapped_private = models.BinaryField(null=True, blank=True)
    # Haven's integrity tag over the key columns (haven.vault.integrity), checked before use.
    tag = models.BinaryField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Key of {self.user_id}"


class TeamKeyKind(models.TextChoices):
    INTAKE = "intake", "Intake team"
    SUPERVISORS = "supervisors", "Supervisors"
    STAFF = "staff", "All case staff"
    TEAM = "team", "Casework team"
    PARTNER = "partner", "Partner agency"
    # Sealed to it: each case's coarse statistical facts (haven.stats). Press officers hold it;
    # supervisors reach it through their key.
    STATISTICS = "statistics", "Statistics"
    PRESS = "press", "Press office"


class TeamKey(models.Model):
    """A key pair shared by a group of people, so that records can be sealed to the group.

    Its private half is stored sealed to each member (:class:`KeyShare`) and to the recovery key.
    When a member leaves, a new generation replaces it; the old one is sealed to the new one, so
    remaining members still open what was sealed before, and the leaver opens nothing new.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=12, choices=TeamKeyKind.choices)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="keys"
    )
    partner = models.ForeignKey(
        "referrals.Partner", null=True, blank=True, on_delete=models.CASCADE, related_name="keys"
    )
    public_key = models.BinaryField()
    recovery_sealed = models.BinaryField()
    active = models.BooleanField(default=True)
    rotation_due = models.BooleanField(
        default=False, help_text="Someone left it: a holder should replace it."
    )
    created_at = models.DateTimeField()
    # Haven's integrity tag over the key columns (haven.vault.integrity), checked before use.
    tag = models.BinaryField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(
                    active=True, kind__in=["intake", "supervisors", "staff", "press"]
                ),
                name="one_active_system_key_per_kind",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(active=True, kind="statistics"),
                name="one_active_statistics_key",
            ),
            models.UniqueConstraint(
                fields=["team"],
                condition=models.Q(active=True, team__isnull=False),
                name="one_active_key_per_team",
            ),
            models.UniqueConstraint(
                fields=["partner"],
                condition=models.Q(active=True, partner__isnull=False),
                name="one_active_key_per_partner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} key {self.id}"

    @property
    def ref(self) -> str:
        return f"t:{self.pk}"


class KeyShare(models.Model):
    """A team key's private half sealed to one member, or to another team key (its successor,
    or the supervisors' key for casework-team and partner keys)."""

    team_key = models.ForeignKey(TeamKey, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="key_shares",
    )
    via_key = models.ForeignKey(
        TeamKey, null=True, blank=True, on_delete=models.CASCADE, related_name="held_shares"
    )
    sealed = models.BinaryField()
    sealed_next = models.BinaryField(null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField()
    # Haven's integrity tag over the key columns (haven.vault.integrity), checked before use.
    tag = models.BinaryField(null=True, blank=True)
    tag_next = models.BinaryField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, via_key__isnull=True)
                | models.Q(user__isnull=True, via_key__isnull=False),
                name="key_share_has_one_holder",
            ),
            models.UniqueConstraint(fields=["team_key", "user"], name="one_share_per_user"),
            models.UniqueConstraint(fields=["team_key", "via_key"], name="one_share_per_key"),
        ]

    def __str__(self) -> str:
        return f"Share of {self.team_key_id} to {self.user_id or self.via_key_id}"


class Grant(models.Model):
    """A data key sealed to one person or one team key: the need-to-know mechanism.

    ``stale`` marks a grant sealed to a key pair the person no longer has (after an administrator
    reset their password): it says what they held, so that a colleague or the recovery key can
    restore it, and opens nothing.
    """

    data_key = models.ForeignKey(DataKey, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="grants",
    )
    team_key = models.ForeignKey(
        TeamKey, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    sealed = models.BinaryField()
    sealed_next = models.BinaryField(null=True, blank=True)
    stale = models.BooleanField(default=False)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField()
    # Haven's integrity tag over the key columns (haven.vault.integrity), checked before use.
    tag = models.BinaryField(null=True, blank=True)
    tag_next = models.BinaryField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, team_key__isnull=True)
                | models.Q(user__isnull=True, team_key__isnull=False),
                name="grant_has_one_holder",
            ),
            models.UniqueConstraint(fields=["data_key", "user"], name="one_grant_per_user"),
            models.UniqueConstraint(fields=["data_key", "team_key"], name="one_grant_per_team_key"),
        ]
        indexes = [
            models.Index(fields=["user", "data_key"]),
            models.Index(fields=["team_key", "data_key"]),
            # "Does this user hold this data key?" answered from the index alone, per row of a
            # list or count (haven.access.visible_to).
            models.Index(
                fields=["data_key", "stale", "team_key", "user"], name="vault_grant_holder_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Grant of {self.data_key_id} to {self.user_id or self.team_key_id}"


# --- Blind indexes: finding a name without a plaintext column -------------------------------------


class SearchIndexKey(models.Model):
    """One generation of the organisation's index key, stored only sealed: to the all-staff team
    key (:class:`IndexKeyCopy`) and to the recovery key. Its tokens (:class:`SearchToken`) are
    keyed hashes of normalised names and numbers; without the key they say nothing but how often
    a value repeats. Only one generation is active; retiring one deletes its tokens."""

    generation = models.PositiveIntegerField(primary_key=True)
    recovery_sealed = models.BinaryField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_index_key"
            )
        ]

    def __str__(self) -> str:
        return f"Index key generation {self.generation}"


class IndexKeyCopy(models.Model):
    """The index key sealed to one team key (the all-staff key, or one of its generations):
    whoever holds that team key can compute search tokens. Administrators, auditors, press
    officers and partner liaisons hold no such key."""

    index_key = models.ForeignKey(SearchIndexKey, on_delete=models.CASCADE, related_name="copies")
    team_key = models.ForeignKey(TeamKey, on_delete=models.CASCADE, related_name="index_copies")
    sealed = models.BinaryField()
    created_at = models.DateTimeField()
    # Haven's integrity tag over the key columns (haven.vault.integrity), checked before use.
    tag = models.BinaryField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["index_key", "team_key"], name="one_index_copy_per_team_key"
            )
        ]

    def __str__(self) -> str:
        return f"Index key {self.index_key_id} sealed to {self.team_key_id}"


class SearchPurpose(models.TextChoices):
    NAME = "name", "Name"
    ALIAS = "alias", "Alias"
    BROKER = "broker", "Broker alias"
    PHONE = "phone", "Phone number"


class SearchToken(models.Model):
    """One blind-index token of a record: a 16-byte keyed hash of one normalised value.

    It belongs to the record's data key (people share their case's key; a broker has their own),
    so shredding the key deletes the tokens with it. No plaintext, no record type.
    """

    generation = models.ForeignKey(SearchIndexKey, on_delete=models.CASCADE, related_name="tokens")
    purpose = models.CharField(max_length=8, choices=SearchPurpose.choices)
    token = models.BinaryField(max_length=16)
    data_key = models.ForeignKey(DataKey, on_delete=models.CASCADE, related_name="search_tokens")

    class Meta:
        constraints = [
            # Also the lookup index: token first, the most selective column.
            models.UniqueConstraint(
                fields=["token", "purpose", "generation", "data_key"], name="one_token_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"Search token ({self.purpose}) of {self.data_key_id}"


class SearchIndexPending(models.Model):
    """A record written by someone whose context could not compute search tokens (their share of
    the all-staff key not given yet). The next holder of the index key who can open the record
    indexes it (see :func:`haven.cases.search.search_index_refresh`)."""

    data_key = models.OneToOneField(
        DataKey, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    since = models.DateTimeField()

    class Meta:
        # Oldest first up to a batch: read in order, not every waiting row sorted (a surge
        # leaves tens of thousands for the intake's searches to work through).
        indexes = [models.Index(fields=["since"], name="vault_pending_since_idx")]

    def __str__(self) -> str:
        return f"Unindexed {self.data_key_id}"
