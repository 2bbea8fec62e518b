"""Data keys and the abstract base every record with sensitive content inherits.

A record's plain columns hold only ids, states, timestamps, urgency, coarse country codes and
counts. Everything that identifies or locates a person lives in ``payload``, encrypted under the
record's data key (see :mod:`haven.crypto`). Read and write it only through :mod:`haven.vault.sealed`.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models


class DataKey(models.Model):
    """One random data key, stored only sealed. Deleting it destroys every payload under it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"DataKey {self.id}"


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
