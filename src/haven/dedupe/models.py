"""Duplicate detection in the product: stored keyed encodings, the review queue, decisions.

Nothing here holds a name, a birth date or any other value in the clear: a person's comparison
data is stored only as keyed encodings under the organisation's index key (Bloom filters and
64-bit tokens that open nothing without the key, see :mod:`haven.matching.encodings`). The
review queue and the decisions name cases by id only, like a grant does.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class PersonEncoding(models.Model):
    """One person's keyed encodings, or a mark that they wait to be computed.

    ``generation`` is the index key generation the encodings were made under; null while the
    person waits (recorded by someone who did not hold the index key: the portal, a colleague
    who has not been given the all-staff key yet).
    """

    person = models.OneToOneField(
        "cases.Person", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    generation = models.PositiveIntegerField(null=True, blank=True)
    encoding_version = models.CharField(max_length=24, blank=True)  # engine version + parameters
    blooms = models.BinaryField(default=b"")  # keyed Bloom filters, in BLOOMS order
    tokens = models.BinaryField(default=b"")  # keyed 64-bit tokens (0: unknown)
    # The blocking tokens again, packed (signed 64-bit little-endian): a full pass reads one
    # row per person instead of one per token (BlockToken serves the lookups by token).
    block = models.BinaryField(default=b"")
    pending_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        # Both answer "who waits to be encoded?" on a page load without reading everyone.
        indexes = [
            models.Index(fields=["generation"]),
            models.Index(fields=["encoding_version"]),
            # The pending few, asked on every request page: with nearly every row in one
            # generation, the planner's statistics made SQLite scan them all for IS NULL.
            models.Index(
                fields=["person"],
                condition=models.Q(generation__isnull=True),
                name="dedupe_encoding_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"encodings of {self.person_id}"


class BlockToken(models.Model):
    """One keyed blocking token of one person: two people who share one are compared."""

    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    token = models.BigIntegerField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "token"], name="one_block_token_per_person")
        ]

    def __str__(self) -> str:
        return f"block token of {self.person_id}"


class DuplicateCandidate(models.Model):
    """A pair of cases `haven dedupe` proposed as possibly one person (the review queue).

    ``evidence`` lists, per compared field, its agreement label and weight: field names and
    levels only, never a value. ``case_a`` has the smaller id.
    """

    case_a = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    case_b = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    weight = models.FloatField()
    evidence = models.JSONField(default=list)
    found_at = models.DateTimeField()

    class Meta:
        ordering = ["-probability", "found_at"]
        constraints = [
            models.UniqueConstraint(fields=["case_a", "case_b"], name="one_candidate_per_pair")
        ]

    def __str__(self) -> str:
        return f"possible duplicate {self.case_a_id} / {self.case_b_id}"


class DecisionKind(models.TextChoices):
    NOT_SAME = "not_same", "Not the same person"
    LINK = "link", "Same person, files linked"
    MERGE = "merge", "Same person, merged"


class DuplicateDecision(models.Model):
    """What staff decided about a pair of cases; remembered, so the pair is not proposed again.

    A merge names the surviving case; nothing is moved or deleted (each case keeps its journey
    events and notes), so undoing it (``undone_at``) restores both as they were.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case_a = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    case_b = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=DecisionKind.choices)
    survivor = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    probability = models.FloatField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField()
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case_a", "case_b"],
                condition=Q(undone_at__isnull=True),
                name="one_live_decision_per_pair",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.case_a_id} / {self.case_b_id}"


class TrainedModel(models.Model):
    """Fellegi–Sunter parameters trained by EM on the organisation's own keyed encodings.

    ``parameters`` holds, per compared field, *m* and *u* for each agreement level (how often
    the same person and two different people sit there), the prior and the guard settings:
    shares of pairs, not personal data, no value and no encoding. The newest row made with the
    current encoding version scores pairs (``haven.dedupe.selectors.scoring_model``); older
    rows stay as the record of what was used when.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    trained_at = models.DateTimeField()
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    encoding_version = models.CharField(max_length=24)  # as PersonEncoding.encoding_version
    people = models.PositiveIntegerField()  # population trained on: the prior scales with it
    candidates = models.PositiveBigIntegerField()
    parameters = models.JSONField()

    class Meta:
        ordering = ["-trained_at"]

    def __str__(self) -> str:
        return f"match model trained {self.trained_at:%Y-%m-%d} on {self.people} people"
