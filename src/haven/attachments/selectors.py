"""Reads of attachments. Lists decrypt only the small payload (name, type, what was removed),
never a file; a download opens one file and is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from haven import access
from haven.attachments.files import download_name
from haven.attachments.labels import removed_shown
from haven.attachments.models import Attachment
from haven.audit.services import audit_record
from haven.crypto import KeyContext, MissingKeyError
from haven.vault.sealed import blob_open, payload_read

if TYPE_CHECKING:
    from haven.accounts.models import User
    from haven.cases.models import Request

# The sealed files are never loaded for a list.
_FILES = ("original", "cleaned")

CLEANED = "cleaned"
ORIGINAL = "original"


@dataclass
class AttachmentRow:
    attachment: Attachment
    name: str
    kind: str
    size: int
    cleaned_size: int
    removed: list[str] = field(default_factory=list)
    removed_counts: dict[str, int] = field(default_factory=dict)

    @property
    def removed_shown(self) -> list[str]:
        """What the cleaned copy left out, in words (for the pages)."""
        return removed_shown(self.removed, self.removed_counts)


@dataclass(frozen=True)
class Download:
    name: str  # safe, with the extension of what the file really is
    mime: str
    content: bytes


def _require_reader(user: User) -> None:
    if not access.allowed(user, "attachment.read"):
        raise PermissionDenied("Your role cannot see files.")


def attachment_queryset(*, user: User) -> QuerySet[Attachment]:
    """Every attachment ``user`` holds a live grant for (plain columns; files deferred)."""
    _require_reader(user)
    return (
        Attachment.objects.defer(*_FILES).select_related("data_key").filter(access.visible_to(user))
    )


def attachment_rows(*, ctx: KeyContext, user: User, request: Request | None) -> list[AttachmentRow]:
    """The files of a request that ``user`` may open, names decrypted (for the request and case
    pages and the API). Roles without ``attachment.read`` get an empty list."""
    if request is None or not access.allowed(user, "attachment.read"):
        return []
    rows = []
    for attachment in attachment_queryset(user=user).filter(request=request):
        try:
            data = payload_read(ctx=ctx, record=attachment)
        except MissingKeyError:
            continue
        rows.append(
            AttachmentRow(
                attachment=attachment,
                name=str(data.get("name", "")),
                kind=str(data.get("kind", "")),
                size=int(data.get("size", 0)),
                cleaned_size=int(data.get("cleaned_size", 0)),
                removed=list(data.get("removed", [])),
                removed_counts=dict(data.get("removed_counts", {})),
            )
        )
    return rows


def attachment_get(*, user: User, attachment_id: Any) -> Attachment:
    """An attachment ``user`` may open, or 404 (never a hint that it exists); roles that never
    see files get 403 whatever the id."""
    _require_reader(user)
    try:
        return attachment_queryset(user=user).get(pk=attachment_id)
    except (Attachment.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such file.") from exc


def attachment_download(
    *, ctx: KeyContext, user: User, attachment: Attachment, copy: str = CLEANED
) -> Download:
    """Open one file: the cleaned copy, or the original (``attachment.original`` only).

    Every download, of either copy, is in the audit trail."""
    if copy not in (CLEANED, ORIGINAL):
        raise ValueError(copy)
    if copy == ORIGINAL and not access.allowed(user, "attachment.original"):
        raise PermissionDenied("Only supervisors open the original file.")
    data = payload_read(ctx=ctx, record=attachment)
    blob = Attachment.objects.filter(pk=attachment.pk).values_list(copy, flat=True).get()
    content = blob_open(ctx=ctx, record=attachment, part=copy, blob=bytes(blob))
    if copy == ORIGINAL:
        mime, ext = str(data["mime"]), str(data["ext"])
    else:
        mime, ext = str(data["cleaned_mime"]), str(data["cleaned_ext"])
    with transaction.atomic():
        audit_record(
            actor=user,
            action="attachment.download",
            target=attachment,
            detail={"copy": copy, "request": str(attachment.request_id)},
        )
    return Download(name=download_name(str(data.get("name", "")), ext), mime=mime, content=content)
