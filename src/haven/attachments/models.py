"""Files that came with a request: each sealed under its own data key, with a cleaned copy.

Plain columns: id, request_id, created_at, created_by_id, version, data_key_id. The file's name,
type, size, digest and what the cleaned copy left out are in the payload; the original and the
cleaned copy are in ``original`` and ``cleaned``, each encrypted under the attachment's data key
(:func:`haven.vault.sealed.blob_seal`). Nothing of a file is stored in the clear, anywhere.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haven.vault.models import SealedRecord


class Attachment(SealedRecord):
    """One file. Payload: ``name`` (sanitised), ``kind``, ``mime``, ``ext``, ``size``,
    ``sha256`` (of the original), ``cleaned_mime``, ``cleaned_ext``, ``cleaned_size``,
    ``removed`` (what the cleaned copy left out)."""

    sealed_bindings = ("request_id",)

    request = models.ForeignKey(
        "cases.Request", on_delete=models.PROTECT, related_name="attachments"
    )
    created_at = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Sealed files (XChaCha20-Poly1305 under the data key). Never loaded for lists: see selectors.
    original = models.BinaryField()
    cleaned = models.BinaryField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Attachment {self.pk}"
