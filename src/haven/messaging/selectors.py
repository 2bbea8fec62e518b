"""Reading a request's conversation: staff through their grants (audited), the requester or
broker through their own key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.cases.models import Request
from haven.crypto import CryptoError, KeyContext, PersonalKey
from haven.messaging.models import Conversation, Message
from haven.messaging.services import party_context
from haven.vault.holders import holds_key
from haven.vault.sealed import data_keys_unlock, payload_read


@dataclass(frozen=True)
class MessageView:
    message: Message
    body: str | None  # None: this person holds no key that opens it
    author_kind: str
    author_name: str  # staff: the username (staff pages only); "" for the party
    created_at: dt.datetime


def message_queryset(request: Request) -> QuerySet[Message]:
    return (
        Message.objects.filter(request=request)
        .select_related("author", "data_key")
        .order_by("created_at", "pk")
    )


def conversation_of(request: Request) -> Conversation | None:
    return Conversation.objects.filter(request=request).first()


def message_list(*, ctx: KeyContext, user: User, request: Request) -> list[MessageView]:
    """A request's messages for a staff member who may read messages and holds the request's
    key; each body is opened with their grants (None if they hold no grant of the conversation
    key). The read is audited."""
    if not access.allowed(user, "message.read"):
        raise PermissionDenied("Your role cannot read messages.")
    if not holds_key(user, request.data_key_id):
        raise PermissionDenied("You hold no key for this request.")
    messages = list(message_queryset(request))
    data_keys_unlock(ctx=ctx, key_ids={m.data_key_id for m in messages})
    views = []
    for m in messages:
        try:
            body: str | None = str(payload_read(ctx=ctx, record=m).get("body", ""))
        except CryptoError:
            body = None
        views.append(
            MessageView(
                message=m,
                body=body,
                author_kind=m.author_kind,
                author_name=m.author.username if m.author is not None else "",
                created_at=m.created_at,
            )
        )
    if messages:
        audit_record(
            actor=user, action="message.view", target=request, detail={"count": len(messages)}
        )
    return views


def party_message_list(*, conversation: Conversation, party_key: PersonalKey) -> list[MessageView]:
    """The conversation as its requester or broker sees it (no staff names)."""
    ctx = party_context(conversation, party_key)
    try:
        views = []
        for m in Message.objects.filter(conversation=conversation).order_by("created_at", "pk"):
            try:
                body: str | None = str(payload_read(ctx=ctx, record=m).get("body", ""))
            except CryptoError:
                body = None
            views.append(
                MessageView(
                    message=m,
                    body=body,
                    author_kind=m.author_kind,
                    author_name="",
                    created_at=m.created_at,
                )
            )
        return views
    finally:
        ctx.forget()
