"""Sending messages: staff (with their key context), a requester (with their receipt's key) or
a broker (with their credential's key). See :mod:`haven.messaging.models` for the key design.

Every write runs in ``transaction.atomic`` and ends with its audit entry. A message is stored
whole or not at all; bad input raises ``ValidationError`` (field ``body``) and stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.brokers.models import Broker, BrokerStatus
from haven.cases.models import Request
from haven.crypto import KeyContext, PersonalKey
from haven.messaging.models import Author, Conversation, Message, RequesterKey
from haven.once import once_token_spend
from haven.validation import clean_text
from haven.vault import integrity
from haven.vault.holders import holds_key, live_holders
from haven.vault.models import DataKey
from haven.vault.sealed import data_key_create, payload_set

MAX_BODY_CHARS = 5_000
PARTY_REF = "party"

__all__ = [
    "MAX_BODY_CHARS",
    "conversation_create",
    "conversation_party_public_key",
    "message_send",
    "party_context",
    "party_message_send",
]


def body_clean(body: object) -> str:
    return clean_text(body, field="body", max_length=MAX_BODY_CHARS, required=True)


def conversation_create(
    *,
    ctx: KeyContext,
    request: Request,
    party: str,
    public_key: bytes,
    holders: Iterable[Any] | None = None,
    granted_by: User | None = None,
    data_key: DataKey | None = None,
) -> Conversation:
    """A request's conversation key: a new data key sealed to ``holders`` (by default everyone
    holding the request's key now), the recovery key, and the party's ``public_key``.

    Needs no key to be opened: the portal calls it with a bare context, passing a ``data_key``
    it made with the request's (sealed to the same holders). Call inside the caller's
    transaction (the caller audits)."""
    if party not in (Author.REQUESTER, Author.BROKER):
        raise ValueError("a conversation's party is the requester or a broker")
    if data_key is not None:
        key = data_key  # made by the caller, sealed to the holders it chose
    else:
        if holders is None:
            holders = live_holders(request.data_key_id)
        key = data_key_create(ctx=ctx, holders=holders, granted_by=granted_by)
    conversation = conversation_build(
        ctx=ctx, request=request, party=party, public_key=public_key, data_key=key
    )
    conversation.save(force_insert=True)
    return conversation


def conversation_build(
    *, ctx: KeyContext, request: Request, party: str, public_key: bytes, data_key: DataKey
) -> Conversation:
    """A new request's conversation, not yet saved: ``data_key`` (made by the caller with the
    request's, sealed to the same holders) sealed to the party's ``public_key`` too. The portal
    builds it before opening its transaction (:mod:`haven.db.rows`)."""
    if party not in (Author.REQUESTER, Author.BROKER):
        raise ValueError("a conversation's party is the requester or a broker")
    conversation = Conversation(
        request=request,
        data_key=data_key,
        party=party,
        party_public_key=bytes(public_key),
        party_sealed=ctx.data_key_seal_to(str(data_key.pk), bytes(public_key)),
        created_at=timezone.now(),
    )
    integrity.conversation_tag(conversation)
    return conversation


def conversation_party_public_key(request: Request) -> tuple[str, bytes] | None:
    """Who outside a request can be written to, and their public key: its broker (with a live
    credential), or its requester (portal requests carry a requester key). None: nobody."""
    if request.broker_id is not None:
        from haven.brokers.models import BrokerCredential

        credential = BrokerCredential.objects.filter(broker_id=request.broker_id).first()
        if credential is None:
            return None
        integrity.broker_credential_check(credential)
        return Author.BROKER, bytes(credential.public_key)
    requester = RequesterKey.objects.filter(request=request).first()
    if requester is not None:
        integrity.requester_key_check(requester)
        return Author.REQUESTER, bytes(requester.public_key)
    return None


def _message(
    *,
    ctx: KeyContext,
    conversation: Conversation,
    author_kind: str,
    author: User | None,
    broker: Broker | None,
    body: str,
) -> Message:
    message = Message(
        data_key_id=conversation.data_key_id,
        conversation=conversation,
        request_id=conversation.request_id,
        author_kind=author_kind,
        author=author,
        broker=broker,
        created_at=timezone.now(),
    )
    payload_set(ctx=ctx, record=message, data={"body": body})
    message.save(force_insert=True)
    Request.objects.filter(pk=conversation.request_id).update(
        awaiting_reply=author_kind in (Author.REQUESTER, Author.BROKER)
    )
    return message


@transaction.atomic
def message_send(
    *, ctx: KeyContext, actor: User, request: Request, body: str, once: str | None = None
) -> Message:
    """A staff member writes to a request's requester or broker.

    Needs ``message.send`` and the request's key (need to know); the conversation is created on
    the first message if the request has a party to write to. Raises ValidationError (nothing
    stored) for an empty, overlong or hostile body, or when nobody outside can be reached;
    ``MissingKeyError`` when the actor holds the request but not its conversation key;
    :class:`~haven.once.AlreadyStoredError` (nothing stored) when the form with this checked
    one-time token (``once``, :mod:`haven.once`) was sent before.
    """
    if not access.allowed(actor, "message.send"):
        raise PermissionDenied("Your role cannot send messages.")
    if not holds_key(actor, request.data_key_id):
        raise PermissionDenied("You hold no key for this request.")
    text = body_clean(body)
    once_token_spend(token=once)
    conversation = Conversation.objects.filter(request=request).first()
    if conversation is None:
        party = conversation_party_public_key(request)
        if party is None:
            raise ValidationError(
                {
                    "body": "Nobody outside can be written to on this request: it did not come "
                    "through the portal, and its broker (if any) has no portal credential."
                }
            )
        conversation = conversation_create(
            ctx=ctx, request=request, party=party[0], public_key=party[1], granted_by=actor
        )
    message = _message(
        ctx=ctx,
        conversation=conversation,
        author_kind=Author.STAFF,
        author=actor,
        broker=None,
        body=text,
    )
    audit_record(
        actor=actor, action="message.send", target=request, detail={"message": str(message.pk)}
    )
    return message


def party_context(conversation: Conversation, party_key: PersonalKey) -> KeyContext:
    """A key context holding only the conversation key, opened with the party's private key.
    Raises ``CryptoError`` if the key is not the conversation's party."""
    integrity.conversation_check(conversation)
    ctx = KeyContext(actor_id=None)
    ctx.add_holder(PARTY_REF, party_key)
    ctx.data_key_unlock(
        str(conversation.data_key_id),
        holder=PARTY_REF,
        sealed=bytes(conversation.party_sealed),
        slot=DataKey.objects.filter(pk=conversation.data_key_id)
        .values_list("erasure_slot", flat=True)
        .first(),
    )
    return ctx


@transaction.atomic
def party_message_send(
    *,
    conversation: Conversation,
    party_key: PersonalKey,
    body: str,
    broker: Broker | None = None,
) -> Message:
    """The requester (or the request's broker) writes in the conversation.

    The caller has checked the receipt or the broker's session and opened ``party_key`` with
    it. Sealed under the conversation key, which the request's holders hold too."""
    text = body_clean(body)
    if conversation.party == Author.BROKER:
        conversation = Conversation.objects.select_related("request").get(pk=conversation.pk)
        if (
            broker is None
            or broker.status != BrokerStatus.ACTIVE
            or conversation.request.broker_id != broker.pk
        ):
            raise PermissionDenied("Not this broker's request.")
        author_kind = Author.BROKER
    else:
        broker = None
        author_kind = Author.REQUESTER
    ctx = party_context(conversation, party_key)
    try:
        message = _message(
            ctx=ctx,
            conversation=conversation,
            author_kind=author_kind,
            author=None,
            broker=broker,
            body=text,
        )
    finally:
        ctx.forget()
    if broker is not None:
        # The broker's record: what they did, under their own name in the trail.
        audit_record(
            actor=None,
            action="broker.message",
            target=broker,
            detail={"request": str(conversation.request_id), "message": str(message.pk)},
        )
    else:
        audit_record(
            actor=None,
            action="portal.message",
            target=conversation.request,
            detail={"message": str(message.pk)},
        )
    return message
