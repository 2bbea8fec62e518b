"""Integrity tags on key rows: what each covers, set where Haven writes a row, checked before use.

Someone who can write to the database but holds no key could otherwise (docs/security.md,
"Integrity of key rows"):

* put their own public key in place of the recovery key's, a team's or a person's, and read
  whatever Haven seals to it from then on;
* add a grant of a data key they made themselves, or re-point a key to another erasure slot
  (or to none), and have staff read and write a record under a key the attacker knows;
* replace a team key's share, or a conversation's copy for its requester or broker.

Each such row carries ``tag``: :func:`haven.crypto.integrity_tag` over the columns listed below,
under the integrity key in the erasure store's header (outside the database). A row whose tag does
not match raises :class:`~haven.crypto.IntegrityError` where it would be used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from haven.crypto import integrity_check, integrity_tag

if TYPE_CHECKING:
    from haven.brokers.models import BrokerCredential
    from haven.messaging.models import Conversation, RequesterKey
    from haven.portal.models import QueuedRequest
    from haven.vault.models import (
        DataKey,
        Grant,
        IndexKeyCopy,
        KeyShare,
        OrgKeys,
        TeamKey,
        UserKey,
    )


def _raw(value: Any) -> Any:
    return None if value is None else bytes(value)


# --- What each tag covers ---------------------------------------------------------------------------


def org_keys_parts(org: OrgKeys) -> tuple[object, ...]:
    return (org.pk, _raw(org.recovery_public_key), org.erasure_store_id)


def team_key_parts(team_key: TeamKey) -> tuple[object, ...]:
    return (
        team_key.pk,
        team_key.kind,
        team_key.team_id,
        team_key.partner_id,
        _raw(team_key.public_key),
        _raw(team_key.recovery_sealed),
    )


def user_key_parts(user_key: UserKey) -> tuple[object, ...]:
    return (user_key.user_id, _raw(user_key.public_key), _raw(user_key.next_public_key))


def data_key_parts(key: DataKey) -> tuple[object, ...]:
    return (key.pk, key.erasure_slot, _raw(key.recovery_sealed))


def grant_parts(
    *, data_key_id: Any, slot: Any, user_id: Any, team_key_id: Any, sealed: Any
) -> tuple[object, ...]:
    # The slot too: re-pointing a key to another erasure secret (or none) breaks every grant.
    return (data_key_id, slot, user_id, team_key_id, _raw(sealed))


def key_share_parts(share: KeyShare, *, sealed: Any) -> tuple[object, ...]:
    return (share.team_key_id, share.user_id, share.via_key_id, _raw(sealed))


def index_key_copy_parts(copy: IndexKeyCopy) -> tuple[object, ...]:
    return (copy.index_key_id, copy.team_key_id, _raw(copy.sealed))


def conversation_parts(conversation: Conversation) -> tuple[object, ...]:
    # Not its id, given by the database on insert: the request is one-to-one with it.
    return (
        conversation.request_id,
        conversation.data_key_id,
        conversation.party,
        _raw(conversation.party_public_key),
        _raw(conversation.party_sealed),
    )


def party_key_parts(kind: str, owner_id: Any, public_key: Any) -> tuple[object, ...]:
    """A requester's (``request``) or a broker's (``broker``) public key, which a conversation's
    key is sealed to."""
    return (kind, owner_id, _raw(public_key))


# --- Tagging and checking ---------------------------------------------------------------------------


def tag(kind: str, parts: tuple[object, ...]) -> bytes:
    return integrity_tag(kind, parts)


def check(kind: str, parts: tuple[object, ...], stored: Any) -> None:
    integrity_check(kind, parts, None if stored is None else bytes(stored))


def org_keys_tag(org: OrgKeys) -> None:
    org.tag = tag("org-keys", org_keys_parts(org))


def team_key_tag(team_key: TeamKey) -> None:
    team_key.tag = tag("team-key", team_key_parts(team_key))


def user_key_tag(user_key: UserKey) -> None:
    user_key.tag = tag("user-key", user_key_parts(user_key))


def data_key_tag(key: DataKey) -> None:
    key.tag = tag("data-key", data_key_parts(key))


def grant_values_tag(
    *, data_key_id: Any, user_id: Any, team_key_id: Any, sealed: bytes, slot: Any
) -> bytes:
    """The tag :func:`grant_tag` gives a new grant (no copy for a next pair), from its values:
    for grants written as plain values (:meth:`haven.db.rows.Rows.add_values`)."""
    return tag(
        "grant",
        grant_parts(
            data_key_id=data_key_id,
            user_id=user_id,
            slot=slot,
            team_key_id=team_key_id,
            sealed=sealed,
        ),
    )


def grant_tag(grant: Grant, *, slot: Any) -> None:
    """Tag ``grant`` (and, during a key-pair replacement, its copy for the next pair)."""
    common = {"data_key_id": grant.data_key_id, "user_id": grant.user_id}
    grant.tag = tag(
        "grant",
        grant_parts(**common, slot=slot, team_key_id=grant.team_key_id, sealed=grant.sealed),
    )
    grant.tag_next = (
        None
        if grant.sealed_next is None
        else tag(
            "grant",
            grant_parts(
                **common, slot=slot, team_key_id=grant.team_key_id, sealed=grant.sealed_next
            ),
        )
    )


def key_share_tag(share: KeyShare) -> None:
    share.tag = tag("key-share", key_share_parts(share, sealed=share.sealed))
    share.tag_next = (
        None
        if share.sealed_next is None
        else tag("key-share", key_share_parts(share, sealed=share.sealed_next))
    )


def index_key_copy_tag(copy: IndexKeyCopy) -> None:
    copy.tag = tag("index-key-copy", index_key_copy_parts(copy))


def conversation_tag(conversation: Conversation) -> None:
    conversation.tag = tag("conversation", conversation_parts(conversation))


def queued_request_parts(row: QueuedRequest) -> tuple[object, ...]:
    # The row's time is covered too: it becomes the request's "received at".
    return (row.pk, row.received_at.isoformat(), row.team_key_id, _raw(row.sealed))


def queued_request_tag(row: QueuedRequest) -> None:
    """A portal request queued in a surge (haven.portal.queue): a sealed box is anonymous and
    the intake key's public half is in the database, so only this tag shows the portal made it."""
    row.tag = tag("queued-request", queued_request_parts(row))


def queued_request_check(row: QueuedRequest) -> None:
    check("queued-request", queued_request_parts(row), row.tag)


def requester_key_tag(key: RequesterKey) -> None:
    key.tag = tag("party-key", party_key_parts("request", key.request_id, key.public_key))


def broker_credential_tag(credential: BrokerCredential) -> None:
    credential.tag = tag(
        "party-key", party_key_parts("broker", credential.broker_id, credential.public_key)
    )


# --- Checks where a row is used -----------------------------------------------------------------------


def org_keys_check(org: OrgKeys) -> None:
    check("org-keys", org_keys_parts(org), org.tag)


def team_key_check(team_key: TeamKey) -> None:
    check("team-key", team_key_parts(team_key), team_key.tag)


def user_key_check(user_key: UserKey) -> None:
    check("user-key", user_key_parts(user_key), user_key.tag)


def data_key_check(key: DataKey) -> None:
    check("data-key", data_key_parts(key), key.tag)


def grant_check(
    *,
    data_key_id: Any,
    slot: Any,
    user_id: Any,
    team_key_id: Any,
    sealed: Any,
    stored: Any,
) -> None:
    parts = grant_parts(
        data_key_id=data_key_id, slot=slot, user_id=user_id, team_key_id=team_key_id, sealed=sealed
    )
    check("grant", parts, stored)


def key_share_check(share: KeyShare, *, sealed: Any, stored: Any) -> None:
    check("key-share", key_share_parts(share, sealed=sealed), stored)


def index_key_copy_check(copy: IndexKeyCopy) -> None:
    check("index-key-copy", index_key_copy_parts(copy), copy.tag)


def conversation_check(conversation: Conversation) -> None:
    check("conversation", conversation_parts(conversation), conversation.tag)


def requester_key_check(key: RequesterKey) -> None:
    check("party-key", party_key_parts("request", key.request_id, key.public_key), key.tag)


def broker_credential_check(credential: BrokerCredential) -> None:
    check(
        "party-key",
        party_key_parts("broker", credential.broker_id, credential.public_key),
        credential.tag,
    )
