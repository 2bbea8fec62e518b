"""Recording a request from the portal and coming back with a receipt.

The portal has no logged-in person: a request is sealed to the intake and supervisors' team
keys (:func:`haven.vault.holders.case_holders` with no actor) with a bare key context, which can
create and fill new data keys but open nothing. Its people's search tokens are left pending
(:class:`~haven.vault.models.SearchIndexPending`): the intake's next search indexes them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from haven.attachments.services import IncomingFile, attachment_store, attachments_prepare
from haven.audit.services import audit_record
from haven.brokers.models import Broker
from haven.cases.journey import State
from haven.cases.models import (
    Case,
    Channel,
    Request,
    Source,
    Urgency,
)
from haven.cases.services import PersonInput, person_payload, request_people_build
from haven.cases.tallies import tallies_of_new
from haven.crypto import KeyContext, ReceiptKeys, secret_digest
from haven.db.rows import Rows
from haven.dedupe.services import duplicate_candidates_refresh
from haven.messaging.models import Author, Message, RequesterKey
from haven.messaging.services import conversation_build
from haven.once import LIFETIME as ONCE_LIFETIME
from haven.once import used_tokens_forget
from haven.portal.models import Receipt, UsedFormToken
from haven.portal.receipts import receipt_keys_of, receipt_new
from haven.stats.services import statistics_key_checked
from haven.validation import clean_choice, clean_country, clean_text
from haven.vault import integrity
from haven.vault.holders import case_holders, system_keys
from haven.vault.index import index_key_active
from haven.vault.models import TeamKey, TeamKeyKind
from haven.vault.sealed import data_keys_build, payload_set

MAX_PEOPLE = 10
MAX_ACCOUNT_CHARS = 5_000
MAX_CONTACT_CHARS = 500
MAX_REGION_CHARS = 200
MAX_NAME_CHARS = 200
FORM_TOKEN_LIFETIME = ONCE_LIFETIME  # one purge (haven.once.used_tokens_forget) serves both


class PortalUnavailableError(Exception):
    """The organisation cannot receive portal requests yet (no intake team key)."""


class AlreadySubmittedError(Exception):
    """This form was submitted before: the request is stored and its receipt was shown then."""


@dataclass
class Submission:
    """What a requester gave, as typed (validated by :func:`portal_request_create`)."""

    names: list[str]
    country: str
    region: str
    urgency: int
    account: str
    contact: str
    # Files as they arrived (in memory only): checked and cleaned before anything is stored.
    files: list[IncomingFile] = field(default_factory=list)


def _has_hangul(text: str) -> bool:
    return any("HANGUL" in unicodedata.name(ch, "") for ch in text)


def _person(name: str, index: int) -> PersonInput:
    """A name as the person chose to give it: Hangul goes to the Hangul name, anything else to
    the romanized one (intake corrects both later)."""
    name = clean_text(
        name, field=f"name_{index}", max_length=MAX_NAME_CHARS, required=True, multiline=False
    )
    if _has_hangul(name):
        return PersonInput(name_hangul=name)
    return PersonInput(name_romanized=name)


def submission_clean(submission: Submission) -> dict[str, object]:
    """Every field checked (lengths, control characters, choices); ValidationError by field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, object] = {}
    people: list[PersonInput] = []
    if not submission.names or len(submission.names) > MAX_PEOPLE:
        errors["names"] = [f"Between 1 and {MAX_PEOPLE} people."]
    for i, name in enumerate(submission.names[:MAX_PEOPLE]):
        try:
            person = _person(name, i)
            person_payload(person, index=i)
            people.append(person)
        except ValidationError as exc:
            errors[f"name_{i}"] = [m for ms in exc.message_dict.values() for m in ms]
    checks = {
        "country": lambda: clean_country(submission.country),
        "region": lambda: clean_text(
            submission.region, field="region", max_length=MAX_REGION_CHARS, multiline=False
        ),
        "urgency": lambda: int(
            clean_choice(submission.urgency, field="urgency", choices=Urgency.values)
        ),
        "account": lambda: clean_text(
            submission.account, field="account", max_length=MAX_ACCOUNT_CHARS, required=True
        ),
        "contact": lambda: clean_text(
            submission.contact, field="contact", max_length=MAX_CONTACT_CHARS
        ),
    }
    for name, check in checks.items():
        try:
            cleaned[name] = check()
        except ValidationError as exc:
            errors[name] = [m for ms in exc.message_dict.values() for m in ms]
    try:
        cleaned["attachments"] = attachments_prepare(files=submission.files)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    cleaned["people"] = people
    return cleaned


def portal_request_create(*, submission: Submission, form_token: str) -> tuple[Request, str]:
    """Store a request from the portal with one case per person and a receipt; return both.

    All or nothing: the request, its people, cases, first journey events, the receipt's digest,
    the form token's use and the audit entry are written in one transaction. The caller shows
    the receipt only after this returns (after the commit). The receipt itself is never stored.

    Raises ValidationError (nothing stored), :class:`AlreadySubmittedError` (this form token
    was used) or :class:`PortalUnavailableError`.
    """
    cleaned = submission_clean(submission)
    sealing = _holders()
    token_digest = _token_digest(form_token)
    # Asked first, not only left to the token's unique row: a form token replayed (with its
    # solved proof-of-work, past the submission limit) must cost one query, not a hash, a
    # request's keys and a write transaction. The unique row still settles a race.
    if _token_used(token_digest):
        raise AlreadySubmittedError
    # Argon2id outside the transaction: it must not hold the database's write lock.
    receipt = receipt_new()
    keys = receipt_keys_of(receipt)  # one Argon2id run gives the digest and the wrapping key
    requester_key = requester_key_new(keys)
    try:
        request = _store(
            cleaned=cleaned,
            sealing=sealing,
            token_digest=token_digest,
            receipt_digest=keys.lookup,
            requester_key=requester_key,
        )
    except IntegrityError as exc:
        if _token_used(token_digest):
            raise AlreadySubmittedError from exc
        raise
    return request, receipt


def form_token_used(*, form_token: str) -> bool:
    """Whether a request was already filed with this form token (its random part, as
    :func:`~haven.portal.forms.form_token_check` gives it)."""
    return _token_used(_token_digest(form_token))


def pow_token_spend(*, form_token: str) -> bool:
    """Spend a form token's proof-of-work on one receipt look-up: True the first time, False
    if it was spent before (a solution buys one try, in any process). Only a keyed digest of
    the token is kept, with the request forms' used tokens, and dropped with them."""
    digest = secret_digest(f"portal-pow:{form_token}")
    try:
        with transaction.atomic():
            UsedFormToken.objects.create(digest=digest, used_at=timezone.now())
    except IntegrityError:
        return False
    return True


def _token_digest(form_token: str) -> bytes:
    return secret_digest(f"portal-form:{form_token}")


def _token_used(digest: bytes) -> bool:
    return UsedFormToken.objects.filter(digest=digest).exists()


@dataclass(frozen=True)
class _Sealing:
    holders: list[Any]
    statistics: TeamKey | None


def _holders() -> _Sealing:
    """Who a portal request is sealed to (the intake and supervisors' team keys), and the
    checked statistics key its cases' facts are sealed to, in one query; refused before
    anything is written when the organisation has no intake key yet."""
    system = system_keys(TeamKeyKind.INTAKE, TeamKeyKind.SUPERVISORS, TeamKeyKind.STATISTICS)
    holders = case_holders(actor=None, system=system)
    if not any(getattr(h, "kind", None) == TeamKeyKind.INTAKE for h in holders):
        raise PortalUnavailableError("no intake team key")
    statistics = system.get(TeamKeyKind.STATISTICS)
    if statistics is None:
        statistics = statistics_key_checked()  # made on first need
    else:
        integrity.team_key_check(statistics)
    return _Sealing(holders=holders, statistics=statistics)


def requester_key_new(keys: ReceiptKeys) -> tuple[bytes, bytes]:
    """The requester's key pair for a new request: (public key, private key wrapped under the
    receipt's wrapping key, from the same Argon2id run as its digest). Staff seal the
    conversation key to the public half; only someone typing the receipt opens the private half
    (docs/security.md, "Messages")."""
    key, wrapped = keys.party_key_new()
    return key.public_key, wrapped


def broker_request_create(
    *, broker: Broker, broker_public_key: bytes, submission: Submission, form_token: str
) -> Request:
    """A request a broker files from the portal's broker pages (logged in with their
    credential): like :func:`portal_request_create`, with the broker on the request and its
    conversation sealed to the broker's key instead of a receipt. Same errors."""
    cleaned = submission_clean(submission)
    sealing = _holders()
    token_digest = _token_digest(form_token)
    if _token_used(token_digest):
        raise AlreadySubmittedError
    try:
        return _store(
            cleaned=cleaned,
            sealing=sealing,
            token_digest=token_digest,
            receipt_digest=None,
            broker=broker,
            broker_public_key=broker_public_key,
        )
    except IntegrityError as exc:
        if _token_used(token_digest):
            raise AlreadySubmittedError from exc
        raise


def _store(
    *,
    cleaned: dict[str, object],
    sealing: _Sealing,
    token_digest: bytes | None,
    receipt_digest: bytes | None,
    requester_key: tuple[bytes, bytes] | None = None,
    broker: Broker | None = None,
    broker_public_key: bytes | None = None,
    received_at: datetime | None = None,
    claim: Callable[[], None] | None = None,
    opener: KeyContext | None = None,
) -> Request:
    """Write one portal request whole. ``received_at``: when it arrived, if not now (a queued
    request, haven.portal.queue); ``claim``: called first inside the transaction, raises to
    write nothing (a queued request someone else opened); ``opener``: the key context of the
    member of staff opening a queued request, which holds the index key, so that its people's
    search tokens and encodings are made now and their possible duplicates looked for, rather
    than left pending after a surge for later pages to catch up on."""
    now = received_at or timezone.now()
    holders = sealing.holders
    people: list[PersonInput] = cleaned["people"]  # type: ignore[assignment]
    country = str(cleaned["country"])
    urgency = int(cleaned["urgency"])  # type: ignore[call-overload]
    ctx = opener if opener is not None else KeyContext(actor_id=None)
    # Every row is built, sealed and turned into SQL before the transaction opens: on SQLite the
    # transaction holds the one write lock, and a flood of requests queues on it (haven.db.rows).
    rows = Rows()
    if token_digest is not None:  # first: a reused form stops here
        rows.add(UsedFormToken(digest=token_digest, used_at=now))
    party = requester_key is not None or (broker is not None and broker_public_key is not None)
    # All the request's keys in one go: its own, its conversation's, its group's and people's.
    keys = data_keys_build(
        ctx=ctx,
        holders=holders,
        granted_by=None,
        count=1 + party + len(people) + (len(people) > 1),
        rows=rows,
    )
    request = Request(
        data_key=keys.pop(0),
        channel=Channel.BROKER if broker is not None else Channel.DIRECT_LINE,
        broker=broker,
        received_at=now,
        urgency=urgency,
        people_count=len(people),
        created_by=None,
    )
    payload_set(
        ctx=ctx,
        record=request,
        data={
            "account": cleaned["account"],
            "contact": cleaned["contact"],
            "people_as_told": len(people),
            "region": cleaned["region"],
        },
    )
    rows.add(request)
    # The conversation with whoever asked: its key sealed to the same holders as the request
    # and to the requester's (or broker's) public key.
    if requester_key is not None:
        stored_key = RequesterKey(
            request=request,
            public_key=requester_key[0],
            wrapped_private=requester_key[1],
            created_at=now,
        )
        integrity.requester_key_tag(stored_key)
        rows.add(
            stored_key,
            conversation_build(
                ctx=ctx,
                request=request,
                party=Author.REQUESTER,
                public_key=requester_key[0],
                data_key=keys.pop(0),
            ),
        )
    elif broker is not None and broker_public_key is not None:
        rows.add(
            conversation_build(
                ctx=ctx,
                request=request,
                party=Author.BROKER,
                public_key=broker_public_key,
                data_key=keys.pop(0),
            )
        )
    group = request_people_build(
        ctx=ctx,
        request=request,
        holders=holders,
        granted_by=None,
        payloads=[person_payload(person, index=i) for i, person in enumerate(people)],
        own_words=[""] * len(people),
        urgency=urgency,
        country=country,
        source=Source.REQUESTER,
        received=now,
        region=str(cleaned["region"]),
        data_keys=keys,
        index_key=index_key_active(),
        rows=rows,
        statistics_key=sealing.statistics,
    )
    # Counted here, not by the catch-up inside the transaction (haven.cases.tallies).
    cases = [case for case in rows.of(Case) if isinstance(case, Case)]
    moves = tallies_of_new(holders=holders, requests=[request], cases=cases, rows=rows)
    if receipt_digest is not None:
        rows.add(Receipt(digest=receipt_digest, request=request, created_at=now))
    inserts = rows.compile().then(moves.statements)
    detail: dict[str, object] = {"people": len(people), "group": str(group.pk) if group else None}
    if broker is not None:
        detail["broker"] = str(broker.pk)
    if received_at is not None:
        detail["queued"] = True
    with transaction.atomic():
        if claim is not None:
            claim()
        used_tokens_forget(timezone.now())
        inserts.run()
        for prepared in cleaned.get("attachments") or []:  # type: ignore[attr-defined]
            attachment_store(
                ctx=ctx, actor=None, request=request, prepared=prepared, holders=holders
            )
        if ctx.holds_index_key():
            duplicate_candidates_refresh(person_ids=[case.person_id for case in cases])
        audit_record(
            actor=None,
            action="broker.request" if broker is not None else "portal.request",
            target=request,
            detail=detail,
        )
    if opener is None:
        ctx.forget()
    return request


# --- Coming back -------------------------------------------------------------------------------

STATUS_RECEIVED = "received"
STATUS_LOOKED_AT = "looked_at"
STATUS_IN_TOUCH = "in_touch"
# Cases past acceptance: someone is working with the person. Every other state (side exits
# included: declined, duplicate, detained...) reads "being looked at": the portal never tells
# more than that; staff say the rest themselves.
IN_TOUCH_STATES = frozenset(
    {
        State.REFERRED,
        State.LEFT_WORKPLACE,
        State.IN_TRANSIT,
        State.IN_THIRD_COUNTRY,
        State.AWAITING_FLIGHT,
        State.ARRIVED,
        State.HANDED_OVER,
    }
)


def coarse_status(request: Request, *, staff_wrote: bool | None = None) -> str:
    """What the portal tells the requester (or broker) of a request: received, being looked
    at, or in touch. A request staff have written on reads at least "being looked at": the
    reply is on the same page, and "waiting to be looked at" beside it would be wrong.
    ``staff_wrote``: whether they have, when the caller knows it for many requests at once."""
    states = set(request.cases.values_list("state", flat=True))
    if states & IN_TOUCH_STATES:
        return STATUS_IN_TOUCH
    if request.status == "new" and states <= {State.RECEIVED}:
        if staff_wrote is None:
            staff_wrote = Message.objects.filter(request=request, author_kind=Author.STAFF).exists()
        if not staff_wrote:
            return STATUS_RECEIVED
    return STATUS_LOOKED_AT
