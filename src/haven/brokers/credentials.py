"""A broker's portal credential: issued by a supervisor, shown once, stored only as a digest.

* :func:`broker_credential_issue` makes a new credential (replacing any earlier one and ending
  every session), a key pair for the broker whose private half is wrapped under
  Argon2id(credential), and re-seals the keys of the broker's conversations that the issuing
  supervisor holds to the new public key.
* :func:`broker_credential_revoke` deletes the credential and every session (suspension calls it,
  in the same transaction, so a suspended broker is out at once).
* :func:`broker_login` / :func:`broker_session` / :func:`broker_logout`: the broker's short
  session. The cookie holds a random secret; the server keeps its digest and the broker's private
  key encrypted under it, so neither the database nor the cookie alone opens anything.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.brokers.models import Broker, BrokerCredential, BrokerSession, BrokerStatus
from haven.crypto import (
    CryptoError,
    KeyContext,
    PersonalKey,
    broker_credential_new,
    party_key_create,
    party_key_open,
    secret_digest,
)
from haven.vault import integrity

SESSION_LIFETIME = dt.timedelta(minutes=30)
_CREDENTIAL = re.compile(r"^[2-9a-z]{25}$")


def credential_normalise(value: object) -> str | None:
    """What a broker typed, as the canonical credential (``abcde-fghjk-…``), or None."""
    if not isinstance(value, str) or len(value) > 200:
        return None
    raw = "".join(ch for ch in value.lower() if ch.isalnum())
    if not _CREDENTIAL.match(raw):
        return None
    return "-".join(raw[i : i + 5] for i in range(0, 25, 5))


def _digest(credential: str) -> bytes:
    return secret_digest(f"broker-credential:{credential}")


def _costs() -> tuple[int, int]:
    return (
        int(settings.HAVEN_PORTAL_RECEIPT_OPSLIMIT),
        int(settings.HAVEN_PORTAL_RECEIPT_MEMLIMIT),
    )


def broker_credential_issue(*, ctx: KeyContext, actor: User, broker: Broker) -> str:
    """Issue ``broker`` a new credential and return it (to be shown once, never stored).

    Supervisors only, for an active broker. Any earlier credential and every session end."""
    if not access.allowed(actor, "broker.credential_issue"):
        raise PermissionDenied("Only supervisors issue broker credentials.")
    if broker.status != BrokerStatus.ACTIVE:
        raise ValidationError({"broker": "This broker is suspended: reinstate them first."})
    credential = broker_credential_new()
    opslimit, memlimit = _costs()
    # Argon2id outside the transaction: it must not hold the database's write lock.
    key, wrapped = party_key_create(credential, opslimit=opslimit, memlimit=memlimit)
    _issue(ctx=ctx, actor=actor, broker=broker, credential=credential, key=key, wrapped=wrapped)
    return credential


@transaction.atomic
def _issue(
    *,
    ctx: KeyContext,
    actor: User,
    broker: Broker,
    credential: str,
    key: PersonalKey,
    wrapped: bytes,
) -> None:
    from haven.messaging.models import Author, Conversation
    from haven.vault.sealed import data_keys_unlock

    broker = Broker.objects.select_for_update().get(pk=broker.pk)
    BrokerSession.objects.filter(broker=broker).delete()
    BrokerCredential.objects.filter(broker=broker).delete()
    now = timezone.now()
    row = BrokerCredential(
        broker=broker,
        digest=_digest(credential),
        public_key=key.public_key,
        wrapped_private=wrapped,
        issued_at=now,
        issued_by=actor,
    )
    integrity.broker_credential_tag(row)
    row.save(force_insert=True)
    conversations = list(Conversation.objects.filter(request__broker=broker, party=Author.BROKER))
    data_keys_unlock(ctx=ctx, key_ids=[c.data_key_id for c in conversations])
    resealed = 0
    for conversation in conversations:
        key_id = str(conversation.data_key_id)
        if ctx.has_data_key(key_id):
            conversation.party_public_key = key.public_key
            conversation.party_sealed = ctx.data_key_seal_to(key_id, key.public_key)
            integrity.conversation_tag(conversation)
            conversation.save(update_fields=["party_public_key", "party_sealed", "tag"])
            resealed += 1
    audit_record(
        actor=actor,
        action="broker.credential_issue",
        target=broker,
        detail={"conversations": len(conversations), "resealed": resealed},
    )


def broker_credential_revoke(*, broker: Broker) -> int:
    """Delete the broker's credential and every session. Call inside the caller's transaction
    (``broker_set_status``); the caller audits. Returns how many rows went."""
    sessions, _ = BrokerSession.objects.filter(broker=broker).delete()
    credentials, _ = BrokerCredential.objects.filter(broker=broker).delete()
    return sessions + credentials


@dataclass(frozen=True)
class BrokerLogin:
    broker: Broker
    key: PersonalKey


def broker_login(credential: str) -> tuple[BrokerLogin, str] | None:
    """Check a (normalised) credential; on success start a session and return it with the
    cookie secret. None for a wrong credential or a suspended broker (the same answer)."""
    row = (
        BrokerCredential.objects.select_related("broker").filter(digest=_digest(credential)).first()
    )
    if row is None or row.broker.status != BrokerStatus.ACTIVE:
        return None
    try:
        key = party_key_open(bytes(row.wrapped_private), credential)
    except CryptoError:
        return None
    blob, secret = key.protect_for_session(binding=f"broker-session:{row.broker.pk}")
    now = timezone.now()
    with transaction.atomic():
        BrokerSession.objects.filter(expires_at__lt=now).delete()
        BrokerSession.objects.create(
            digest=secret_digest(f"broker-session:{secret}"),
            broker=row.broker,
            key_blob=blob,
            expires_at=now + SESSION_LIFETIME,
        )
        BrokerCredential.objects.filter(pk=row.pk).update(
            last_used_at=now.replace(second=0, microsecond=0)
        )
        audit_record(actor=None, action="broker.login", target=row.broker)
    return BrokerLogin(broker=row.broker, key=key), secret


def broker_session(secret: object) -> BrokerLogin | None:
    """The broker and their opened key for a session cookie, or None (expired, ended, suspended)."""
    if not isinstance(secret, str) or not 20 <= len(secret) <= 100:
        return None
    row = (
        BrokerSession.objects.select_related("broker")
        .filter(digest=secret_digest(f"broker-session:{secret}"), expires_at__gt=timezone.now())
        .first()
    )
    if row is None or row.broker.status != BrokerStatus.ACTIVE:
        return None
    if not BrokerCredential.objects.filter(broker=row.broker).exists():
        return None
    try:
        key = PersonalKey.from_session(
            bytes(row.key_blob), secret, binding=f"broker-session:{row.broker.pk}"
        )
    except CryptoError:
        return None
    return BrokerLogin(broker=row.broker, key=key)


def broker_logout(secret: object) -> None:
    if isinstance(secret, str) and len(secret) <= 100:
        BrokerSession.objects.filter(digest=secret_digest(f"broker-session:{secret}")).delete()
