"""The aggregate store and releases.

* :class:`CaseFacts`: one case's coarse facts (months, channel, categories, outcome), sealed to
  the statistics key by whoever last changed the case. The database sees a row per case and
  nothing in it: the writer cannot read it back, only holders of the statistics key can.
* :class:`FactsSnapshot`: every row's facts, decoded and sealed together under a data key held by
  the statistics key, so that a page opens one box instead of one per case.
* :class:`Release`: a frozen set of tables, its counts and its audit, sealed like the snapshot;
  prepared by a press officer or supervisor, published when another supervisor approves it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.vault.models import SealedRecord


class CoverCategories(models.Model):
    """The categories statistics count a case under instead of its true ones, where a supervisor
    recorded cover values for it (haven.disclosure): ``{"oc": occupation, "pr": province}``,
    sealed to the statistics key. Like a case's facts it outlives a case destroyed by retention
    (detached), so that past years never go back to the true category."""

    case = models.OneToOneField(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team_key = models.ForeignKey("vault.TeamKey", on_delete=models.PROTECT, related_name="+")
    sealed = models.BinaryField()

    def __str__(self) -> str:
        return f"Cover categories {self.pk}"


class CaseFacts(models.Model):
    """A case's coarse facts, sealed to the statistics key (haven.crypto.facts_seal).

    Each change of the case replaces the row (a new id), so that a snapshot tells what changed
    from the ids alone. When the case is destroyed by retention the row stays, without the link
    (past years' counts do not shrink); a supervisor's deletion removes it.
    """

    case = models.OneToOneField(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="stats_facts"
    )
    team_key = models.ForeignKey("vault.TeamKey", on_delete=models.PROTECT, related_name="+")
    sealed = models.BinaryField()
    # Counted under these categories instead of the true ones (whoever writes the facts carries
    # the link over without reading it).
    cover = models.ForeignKey(
        CoverCategories, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Facts {self.pk}"


class FactsSnapshot(SealedRecord):
    """Every case's facts at one moment, sealed under its own data key (held by the statistics
    key). Payload: the vocabulary it was encoded with and the row ids; ``matrix``: the encoded
    facts (see :mod:`haven.stats.store`), sealed as a blob of the record."""

    created_at = models.DateTimeField()
    rows = models.PositiveIntegerField()
    matrix = models.BinaryField()

    class Meta:
        ordering = ["-created_at"]


class ReleaseStatus(models.TextChoices):
    PREPARED = "prepared", _("Prepared")
    PUBLISHED = "published", _("Published")
    DISCARDED = "discarded", _("Discarded")


class Release(SealedRecord):
    """A frozen release of statistics. Plain columns: what was asked (period, grain, tables,
    policy), who prepared and approved it and when, and how many figures it shows and keeps
    back. Payload: the counts it was computed from (frozen: later releases of the same months
    reuse them), every figure with its status, and the attacker's audit."""

    status = models.CharField(
        max_length=10, choices=ReleaseStatus.choices, default=ReleaseStatus.PREPARED
    )
    start = models.CharField(max_length=7)  # YYYY-MM, inclusive
    end = models.CharField(max_length=7)
    grain = models.CharField(max_length=8)
    tables = models.JSONField(default=list)  # ["people:period:channel", ...]
    policy = models.CharField(max_length=10)
    k = models.PositiveSmallIntegerField()
    protection = models.PositiveSmallIntegerField()
    zeros_disclosive = models.BooleanField(default=False)
    rounding_base = models.PositiveSmallIntegerField(default=5)
    figures = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(default=0)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    prepared_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-prepared_at"]
        indexes = [models.Index(fields=["status", "published_at"])]

    def __str__(self) -> str:
        return f"Release {self.start}–{self.end} ({self.status})"
