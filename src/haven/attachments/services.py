"""Adding files to a request, and destroying them with it.

A file is checked and cleaned in memory (:mod:`haven.attachments.files`) *before* any
transaction, so that decoding a large image never holds the database's write lock. It is then
stored with its own data key, sealed to the same holders as its request's key (and to the
recovery key): the original, kept as evidence, and the cleaned copy staff open by default, each
encrypted. The server keeps no plaintext copy anywhere.

An attachment's key follows its request's: the app declares attachments request-scoped
(:mod:`haven.cases.keyset`, from ``AttachmentsConfig.ready``), so a grant of a case seals it
along with the request's key, a revocation takes it with the request's, and destroying the
request destroys its files and every sealed copy of their keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven import access
from haven.attachments.files import FileRefusedError, Inspected, inspect
from haven.attachments.models import Attachment
from haven.audit.services import audit_record
from haven.crypto import KeyContext
from haven.vault.models import Grant, TeamKey
from haven.vault.sealed import blob_seal, data_key_create, payload_read, payload_set

if TYPE_CHECKING:
    from haven.accounts.models import User
    from haven.cases.models import Request

FIELD = "attachments"


@dataclass(frozen=True)
class IncomingFile:
    """A file as it arrived: the name the sender's device gave it, and its bytes."""

    name: str
    content: bytes


def attachments_prepare(*, files: list[IncomingFile]) -> list[Inspected]:
    """Check every file (count, sizes, type by content) and make its cleaned copy, in memory.

    Raises ``ValidationError({"attachments": [...]})`` naming each refused file; then nothing
    may be stored. Runs outside any transaction (image decoding can take a moment).
    """
    errors: list[str] = []
    if len(files) > settings.HAVEN_ATTACHMENT_MAX_FILES:
        errors.append(
            _("Please send at most %(n)d files with one request.")
            % {"n": settings.HAVEN_ATTACHMENT_MAX_FILES}
        )
    if sum(len(f.content) for f in files) > settings.HAVEN_ATTACHMENT_MAX_TOTAL_BYTES:
        errors.append(too_much_message())
    prepared: list[Inspected] = []
    if not errors:
        for incoming in files:
            if len(incoming.content) > settings.HAVEN_ATTACHMENT_MAX_BYTES:
                errors.append(too_large_message(incoming.name))
                continue
            if not incoming.content:
                continue  # an empty file input
            try:
                prepared.append(inspect(incoming.content, incoming.name))
            except FileRefusedError as exc:
                errors.append(exc.message)
    if errors:
        raise ValidationError({FIELD: errors})
    return prepared


def _megabytes(value: int) -> str:
    return f"{value / 1_000_000:.0f}"


def too_large_message(name: str) -> str:
    from haven.attachments.files import safe_name

    return _("“%(name)s” is too large: each file may be at most %(mb)s MB.") % {
        "name": safe_name(name),
        "mb": _megabytes(settings.HAVEN_ATTACHMENT_MAX_BYTES),
    }


def too_much_message() -> str:
    return _("These files are too large together: at most %(mb)s MB in all.") % {
        "mb": _megabytes(settings.HAVEN_ATTACHMENT_MAX_TOTAL_BYTES)
    }


def request_key_holders(request: Request) -> list[User | TeamKey]:
    """Who holds the request's key now (live grants): people and team keys."""
    holders: list[User | TeamKey] = []
    for grant in Grant.objects.filter(data_key_id=request.data_key_id, stale=False).select_related(
        "user", "team_key"
    ):
        if grant.team_key is not None:
            holders.append(grant.team_key)
        elif grant.user is not None:
            holders.append(grant.user)
    return holders


def attachment_store(
    *,
    ctx: KeyContext,
    actor: User | None,
    request: Request,
    prepared: Inspected,
    holders: list[User | TeamKey] | None = None,
) -> Attachment:
    """Seal one prepared file to the request's holders and store it, with its audit entry.

    For callers that already checked access and hold a transaction (the portal's ``_store``,
    :func:`attachment_add`). ``holders`` defaults to the request's current key holders.
    """
    if holders is None:
        holders = request_key_holders(request)
    attachment = Attachment(
        data_key=data_key_create(ctx=ctx, holders=holders, granted_by=actor),
        request=request,
        created_at=timezone.now(),
        created_by=actor,
    )
    payload_set(
        ctx=ctx,
        record=attachment,
        data={
            "name": prepared.name,
            "kind": prepared.kind,
            "mime": prepared.mime,
            "ext": prepared.ext,
            "size": prepared.size,
            "sha256": prepared.sha256,
            "cleaned_mime": prepared.cleaned_mime,
            "cleaned_ext": prepared.cleaned_ext,
            "cleaned_size": len(prepared.cleaned),
            "removed": list(prepared.removed),
        },
    )
    attachment.original = blob_seal(
        ctx=ctx, record=attachment, part="original", data=prepared.original
    )
    attachment.cleaned = blob_seal(
        ctx=ctx, record=attachment, part="cleaned", data=prepared.cleaned
    )
    attachment.save(force_insert=True)
    audit_record(
        actor=actor,
        action="attachment.add",
        target=attachment,
        detail={"request": str(request.pk), "kind": prepared.kind},
    )
    return attachment


def attachment_prepare_one(*, name: str, content: bytes) -> Inspected:
    """One file checked and cleaned (see :func:`attachments_prepare`)."""
    prepared = attachments_prepare(files=[IncomingFile(name=name, content=content)])
    if not prepared:
        raise ValidationError({FIELD: [_("This file is empty.")]})
    return prepared[0]


@transaction.atomic
def attachment_add(
    *, ctx: KeyContext, actor: User, request: Request, name: str, content: bytes
) -> Attachment:
    """Add a file to a request the actor holds (staff): checked, cleaned, sealed, audited."""
    if not access.allowed(actor, "attachment.read") or not access.allowed(actor, "request.create"):
        raise PermissionDenied("Your role cannot add files.")
    # Opening the request's payload proves the actor holds its key (and it is untampered).
    payload_read(ctx=ctx, record=request)
    prepared = attachment_prepare_one(name=name, content=content)
    return attachment_store(ctx=ctx, actor=actor, request=request, prepared=prepared)
