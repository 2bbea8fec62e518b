"""What `haven backup` writes into the database it backs up: a canary per backup."""

from __future__ import annotations

from django.db import models

from haven.vault.models import SealedRecord


class BackupCanary(SealedRecord):
    """A record written just before each backup's dump, under a data key of its own sealed to the
    supervisors' key and the recovery key, holding a random token that the archive's manifest
    also holds. A verify or a restore opens it from the restored database and erasure store: if
    it opens and the token matches, the database's rows, the store's secrets, the integrity tags
    and the key hierarchy came back together. One row per backup, kept (a few hundred bytes each):
    destroying an old one would put its slot in the shred ledger that later restores apply."""

    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Backup canary {self.pk}"
