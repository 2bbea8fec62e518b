"""Receiving files in memory only, with hard limits enforced while the bytes arrive.

Django's default handlers write any upload over ``FILE_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB) to a
temporary file: plaintext on disk, which the portal must never leave. This handler is the only
one configured (``FILE_UPLOAD_HANDLERS``): it keeps every file in memory and drops a file as soon
as it passes ``HAVEN_ATTACHMENT_MAX_BYTES``, once files pass ``HAVEN_ATTACHMENT_MAX_TOTAL_BYTES``
together, or when there are more than ``HAVEN_ATTACHMENT_MAX_FILES`` (on the import pages: one
spreadsheet up to ``HAVEN_IMPORT_MAX_BYTES``) (``SkipFile``: the rest of
that file is read and thrown away, so the form's other fields still arrive and what the person
typed can be shown again). The view asks :func:`upload_refusals` what was dropped and refuses the
whole submission: nothing is stored. The request body as a whole is capped before it is read
(``Content-Length``; see ``haven.portal.views``), so a dropped file costs at most that much reading.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopFutureHandlers
from django.http import HttpRequest

TOO_MANY = "count"
TOO_LARGE = "size"
TOO_MUCH = "total"


# Paths that take a spreadsheet to import (one file, up to HAVEN_IMPORT_MAX_BYTES) rather than
# a request's attachments.
IMPORT_PATHS = ("/imports/", "/api/imports/")


class MemoryOnlyUploadHandler(FileUploadHandler):
    """Every file in memory, never on disk; files over the limits are dropped while arriving."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.refused: list[tuple[str, str]] = []  # (reason, file name as sent)
        self.count = 0
        self.total = 0
        path = str(getattr(request, "path", "") or "")
        if path.startswith(IMPORT_PATHS):
            self.max_files = 1
            self.max_bytes = self.max_total = int(settings.HAVEN_IMPORT_MAX_BYTES)
        else:
            self.max_files = int(settings.HAVEN_ATTACHMENT_MAX_FILES)
            self.max_bytes = int(settings.HAVEN_ATTACHMENT_MAX_BYTES)
            self.max_total = int(settings.HAVEN_ATTACHMENT_MAX_TOTAL_BYTES)
        # Always a buffer (Django closes it after a skipped file); emptied when a file is dropped.
        self.file = BytesIO()

    def new_file(
        self,
        field_name: str,
        file_name: str,
        content_type: str,
        content_length: int | None,
        charset: str | None = None,
        content_type_extra: dict[str, Any] | None = None,
    ) -> None:
        super().new_file(
            field_name, file_name, content_type, content_length, charset, content_type_extra
        )
        self.count += 1
        self.file = BytesIO()
        if self.count > self.max_files:
            self._refuse(TOO_MANY)
        if content_length is not None and content_length > self.max_bytes:
            self._refuse(TOO_LARGE)
        raise StopFutureHandlers()

    def _refuse(self, reason: str) -> None:
        self.refused.append((reason, str(self.file_name or "")[:200]))
        self.file = BytesIO()  # what arrived of it is dropped now
        raise SkipFile()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if start + len(raw_data) > self.max_bytes:
            self._refuse(TOO_LARGE)
        self.total += len(raw_data)
        if self.total > self.max_total:
            self._refuse(TOO_MUCH)
        self.file.write(raw_data)

    def file_complete(self, file_size: int) -> InMemoryUploadedFile | None:
        self.file.seek(0)
        uploaded = InMemoryUploadedFile(
            file=self.file,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
        self.file = BytesIO()
        return uploaded


def upload_refusals(request: HttpRequest) -> list[tuple[str, str]]:
    """What the upload handlers dropped while reading ``request`` (after its body was parsed)."""
    refused: list[tuple[str, str]] = []
    for handler in request.upload_handlers:
        refused += getattr(handler, "refused", [])
    return refused
