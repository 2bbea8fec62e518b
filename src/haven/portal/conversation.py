"""Coming back with the receipt to the conversation, and the broker's side of the portal.

A requester opens their conversation only with their receipt: one Argon2id run over it (with
the organisation's salt) gives the digest it is looked up by and, independently, the key that
unwraps the requester's private key, which opens the conversation key. Nothing about the receipt or the client is
kept; the page carries the receipt on to the next POST in a hidden field only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from haven.attachments.services import (
    IncomingFile,
    attachment_store,
    attachments_prepare,
    request_key_holders,
)
from haven.brokers.credentials import BrokerLogin
from haven.cases.models import Request
from haven.crypto import CryptoError, KeyContext, PersonalKey, ReceiptKeys, secret_digest
from haven.messaging.models import Author, Conversation, Message, RequesterKey
from haven.messaging.selectors import MessageView, party_message_list
from haven.messaging.services import body_clean, conversation_create, party_message_send
from haven.portal.models import Receipt, UsedFormToken
from haven.portal.receipts import receipt_keys_of
from haven.portal.services import AlreadySubmittedError, coarse_status, requester_key_new
from haven.vault import integrity


@dataclass(frozen=True)
class RequesterPage:
    """What the requester sees after entering their receipt."""

    status: str
    last_used_at: dt.datetime | None  # before this visit
    messages: list[MessageView]
    can_write: bool


def _receipt_use(receipt: str) -> tuple[Request, dt.datetime | None, ReceiptKeys] | None:
    keys = receipt_keys_of(receipt)  # Argon2id, once per visit: outside the transaction
    digest = keys.lookup
    with transaction.atomic():
        row = (
            Receipt.objects.select_for_update()
            .select_related("request")
            .filter(digest=digest)
            .first()
        )
        if row is None:
            return None
        previous = row.last_used_at
        row.last_used_at = timezone.now().replace(second=0, microsecond=0)
        row.save(update_fields=["last_used_at"])
        return row.request, previous, keys


def _requester_conversation(
    request: Request, keys: ReceiptKeys
) -> tuple[Conversation, PersonalKey]:
    """The request's conversation and the requester's opened key; made now for a request filed
    before messages existed (the receipt is at hand, so the key pair can be made)."""
    stored = RequesterKey.objects.filter(request=request).first()
    if stored is None:
        public, wrapped = requester_key_new(keys)
        try:
            with transaction.atomic():
                stored = RequesterKey(
                    request=request,
                    public_key=public,
                    wrapped_private=wrapped,
                    created_at=timezone.now(),
                )
                integrity.requester_key_tag(stored)
                stored.save(force_insert=True)
                ctx = KeyContext(actor_id=None)
                conversation_create(
                    ctx=ctx, request=request, party=Author.REQUESTER, public_key=public
                )
                ctx.forget()
        except IntegrityError:  # made by a parallel visit
            stored = RequesterKey.objects.get(request=request)
    key = keys.party_key_open(bytes(stored.wrapped_private))
    conversation = Conversation.objects.get(request=request, party=Author.REQUESTER)
    return conversation, key


def requester_open(receipt: str) -> RequesterPage | None:
    """The status and conversation for a (normalised) receipt, which is marked used now.
    None for a wrong receipt (the caller counts it towards the throttle)."""
    used = _receipt_use(receipt)
    if used is None:
        return None
    request, previous, keys = used
    return _page(request, keys, previous)


def _page(request: Request, keys: ReceiptKeys, previous: dt.datetime | None) -> RequesterPage:
    try:
        conversation, key = _requester_conversation(request, keys)
    except (CryptoError, Conversation.DoesNotExist):
        return RequesterPage(
            status=coarse_status(request), last_used_at=previous, messages=[], can_write=False
        )
    messages = party_message_list(conversation=conversation, party_key=key)
    return RequesterPage(
        status=coarse_status(request), last_used_at=previous, messages=messages, can_write=True
    )


def _token_use(form_token: str) -> None:
    """Mark a message form's one-time token used (a refresh or double click sends nothing twice);
    call inside the sending transaction."""
    digest = secret_digest(f"portal-message:{form_token}")
    if UsedFormToken.objects.filter(digest=digest).exists():
        raise AlreadySubmittedError
    try:
        with transaction.atomic():
            UsedFormToken.objects.create(digest=digest, used_at=timezone.now())
    except IntegrityError as exc:
        raise AlreadySubmittedError from exc


def requester_message_add(
    receipt: str, body: str, *, form_token: str, files: Sequence[IncomingFile] = ()
) -> RequesterPage | None:
    """The requester adds a message (details, an answer), files (photos, PDFs), or both. None
    for a wrong receipt; raises ValidationError (nothing stored) for a bad body or a refused
    file, AlreadySubmittedError for a form sent twice.

    Each file is stored like a file sent with the request (:func:`attachment_store`): its own
    key, sealed to the request's holders and the recovery key, one audit entry per file; staff
    see it with the request's other files."""
    # Before any key work: a bad body or a refused file costs nothing and stores nothing. Image
    # decoding also stays outside the transaction.
    if body or not files:
        body_clean(body)
    prepared = attachments_prepare(files=list(files)) if files else []
    if not body and not prepared:  # only empty file inputs: there is nothing to send
        body_clean(body)
    used = _receipt_use(receipt)
    if used is None:
        return None
    request, previous, keys = used
    conversation, key = _requester_conversation(request, keys)
    with transaction.atomic():
        _token_use(form_token)
        if body:
            party_message_send(conversation=conversation, party_key=key, body=body)
        if prepared:
            ctx = KeyContext(actor_id=None)
            try:
                holders = request_key_holders(request)
                for item in prepared:
                    attachment_store(
                        ctx=ctx, actor=None, request=request, prepared=item, holders=holders
                    )
            finally:
                ctx.forget()
    return _page(request, keys, previous)


# --- The broker's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerRequestRow:
    request: Request
    status: str
    messages: int


def broker_requests(login: BrokerLogin) -> list[BrokerRequestRow]:
    """The broker's own requests, with the coarse status only (never anyone's details)."""
    requests = Request.objects.filter(broker=login.broker).order_by("-received_at")[:200]
    counts = {
        c.request_id: c.messages.count()
        for c in Conversation.objects.filter(request__in=requests, party=Author.BROKER)
    }
    written = set(
        Message.objects.filter(request__in=requests, author_kind=Author.STAFF).values_list(
            "request_id", flat=True
        )
    )
    return [
        BrokerRequestRow(
            request=r,
            status=coarse_status(r, staff_wrote=r.pk in written),
            messages=counts.get(r.pk, 0),
        )
        for r in requests
    ]


def broker_request(login: BrokerLogin, request_id: object) -> Request | None:
    """One of the broker's own requests, or None (another broker's is as if it did not exist)."""
    try:
        return Request.objects.filter(broker=login.broker, pk=str(request_id)).first()
    except (ValueError, TypeError, ValidationError):  # a malformed id
        return None


def broker_conversation(login: BrokerLogin, request: Request) -> list[MessageView] | None:
    """The conversation of one of the broker's requests; None if there is none they can open."""
    conversation = Conversation.objects.filter(request=request, party=Author.BROKER).first()
    if conversation is None or request.broker_id != login.broker.pk:
        return None
    try:
        return party_message_list(conversation=conversation, party_key=login.key)
    except CryptoError:
        return None


def broker_message_add(login: BrokerLogin, request: Request, body: str, *, form_token: str) -> None:
    """The broker writes on one of their requests. ValidationError for a bad body or when the
    request has no conversation the broker holds (nothing stored)."""
    body_clean(body)
    if request.broker_id != login.broker.pk:
        raise ValidationError({"body": "no conversation"})
    try:
        with transaction.atomic():
            _token_use(form_token)
            conversation = Conversation.objects.select_for_update().filter(request=request).first()
            if conversation is None:
                # A request staff recorded for this broker: the conversation starts now, its key
                # sealed to the request's holders and to the broker.
                ctx = KeyContext(actor_id=None)
                conversation = conversation_create(
                    ctx=ctx, request=request, party=Author.BROKER, public_key=login.key.public_key
                )
                ctx.forget()
            if conversation.party != Author.BROKER:
                raise ValidationError({"body": "no conversation"})
            party_message_send(
                conversation=conversation, party_key=login.key, body=body, broker=login.broker
            )
    except CryptoError as exc:
        raise ValidationError({"body": "no conversation"}) from exc
