"""Imports of spreadsheets: the staged (sealed) rows between the dry run and the commit, the
ledger of what a commit created (so that it can be undone), and saved column mappings.

Plain columns hold only ids, states, counts and timestamps. The file's name, its headers, the
mapping, every cell and every error message are sealed: the staged rows and the summary under
the batch's *stage key*, the rows that will not load (the bad-rows file) under its *bad-rows
key*, both sealed to whoever staged it, the supervisors' key and the recovery key. The stage key
is destroyed when the import is committed, discarded or expires; the bad-rows key when it is
discarded or expires (``haven purge``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.vault.models import SealedRecord


class ImportStatus(models.TextChoices):
    STAGED = "staged", _("Checked, not loaded")
    COMMITTING = "committing", _("Loading")
    COMMITTED = "committed", _("Loaded")
    UNDONE = "undone", _("Undone")
    DISCARDED = "discarded", _("Discarded")


class ImportBatch(models.Model):
    """One file imported (or being imported): counts and state only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=ImportStatus.choices, default=ImportStatus.STAGED
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_valid = models.PositiveIntegerField(default=0)
    rows_invalid = models.PositiveIntegerField(default=0)
    requests_valid = models.PositiveIntegerField(default=0)
    duplicates_flagged = models.PositiveIntegerField(default=0)
    # Row numbers left out at the commit (the duplicates the person chose to skip).
    skipped_rows = models.JSONField(default=list)
    chunks_total = models.PositiveIntegerField(default=0)
    requests_committed = models.PositiveIntegerField(default=0)
    people_committed = models.PositiveIntegerField(default=0)
    requests_undone = models.PositiveIntegerField(default=0)
    requests_kept = models.PositiveIntegerField(default=0)
    committed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    stage_key = models.ForeignKey(
        "vault.DataKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    bad_rows_key = models.ForeignKey(
        "vault.DataKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk}"

    @property
    def has_stage(self) -> bool:
        return self.stage_key_id is not None

    @property
    def has_bad_rows(self) -> bool:
        return self.bad_rows_key_id is not None


class ImportStage(SealedRecord):
    """The sealed summary of a staged import. Payload: ``name`` (of the file), ``kind``,
    ``encoding``, ``sheet``, ``headers``, ``mapping``, ``options``, ``unmapped``, ``sample`` (the
    first rows as read), ``duplicates`` (rows that may be people already stored or other rows)."""

    sealed_bindings = ("batch_id",)

    batch = models.OneToOneField(ImportBatch, on_delete=models.CASCADE, related_name="stage")


class ChunkKind(models.TextChoices):
    RAW = "raw", "cells as read"
    ROWS = "rows", "rows that load"
    BAD = "bad", "rows that do not load"


class ImportChunk(SealedRecord):
    """Up to a few hundred rows of a staged import, sealed. Payload ``rows``: for ``raw``, each
    row's number and cells; for ``rows``, each row as it will be committed (a request's rows
    never straddle two chunks); for ``bad``, number, cells and the errors (column, reason)."""

    sealed_bindings = ("batch_id", "kind", "index")

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="chunks")
    kind = models.CharField(max_length=4, choices=ChunkKind.choices)
    index = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "kind", "index"], name="one_import_chunk_per_index"
            )
        ]


class ImportLedger(models.Model):
    """One request an import created: what undoing the import destroys."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="ledger")
    request = models.OneToOneField("cases.Request", on_delete=models.CASCADE, related_name="+")
    chunk = models.PositiveIntegerField()
    people = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["batch", "chunk"])]

    def __str__(self) -> str:
        return f"request {self.request_id} of import {self.batch_id}"


class ImportMapping(SealedRecord):
    """A column mapping saved for reuse. Payload: ``name``, ``mapping`` (header -> field),
    ``options``. Sealed: a sheet's headers and defaults can say whose list it was."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-updated_at"]
