"""The sensitive-data boundary: every read and write of a payload passes through here.

Each function takes the acting person's :class:`~haven.crypto.KeyContext`. A record's data key is
unlocked from one of the grants addressed to a key the context holds (the person's own, or a team
key shared with them); a person holding no such grant cannot open the record, whatever their role.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connections, router
from django.db.models import F, Q
from django.utils import timezone

from haven.crypto import CryptoError, KeyContext, MissingKeyError, erasure_store, record_aad
from haven.db.rows import Rows
from haven.vault import integrity
from haven.vault.models import DataKey, Grant, OrgKeys, SealedRecord, TeamKey, UserKey

if TYPE_CHECKING:
    from haven.accounts.models import User

R = TypeVar("R", bound=SealedRecord)

__all__ = [
    "CryptoError",
    "MissingKeyError",
    "KeysNotSetUpError",
    "blob_open",
    "blob_seal",
    "data_key_create",
    "data_keys_build",
    "data_keys_create",
    "data_keys_unlock",
    "payload_read",
    "payload_set",
    "record_update",
]


class KeysNotSetUpError(CryptoError):
    """The organisation's keys do not exist yet (`haven setup` creates them)."""


# The recovery key pair is made once, by `haven setup`, and never replaced: every new data key
# is sealed to it, so each process reads its public half once (per database) instead of on every
# write. A database restored from another organisation's backup needs its processes restarted.
_recovery_public: dict[str, bytes] = {}


def recovery_public_key() -> bytes:
    alias = router.db_for_read(OrgKeys)
    cached = _recovery_public.get(alias)
    if cached is not None:
        return cached
    org = OrgKeys.objects.filter(pk=1).first()
    if org is None:
        raise KeysNotSetUpError(
            "Haven's organisation keys are not set up yet: run `haven setup` first."
        )
    # Every new key is sealed to it: one put there by a database writer would read them all.
    integrity.org_keys_check(org)
    public = bytes(org.recovery_public_key)
    if not connections[alias].in_atomic_block:  # never remember a row a rollback may undo
        _recovery_public[alias] = public
    return public


def recovery_public_key_forget() -> None:
    """Read the recovery public key again next time (tests, whose databases come and go)."""
    _recovery_public.clear()


def holder_public_keys(holders: Iterable[Any]) -> dict[Any, bytes]:
    """Public keys of people (``User``) and team keys (``TeamKey``), keyed by the holder.

    People without a key pair yet (never logged in) are left out: they are granted access when
    they have one.
    """
    from haven.accounts.models import User

    result: dict[Any, bytes] = {}
    user_ids = set()
    for holder in holders:
        if holder is None:
            continue
        if isinstance(holder, TeamKey):
            integrity.team_key_check(holder)
            result[holder] = bytes(holder.public_key)
        elif isinstance(holder, User):
            user_ids.add(holder.pk)
        else:
            raise TypeError(f"not a key holder: {holder!r}")
    if user_ids:
        users = {u.pk: u for u in User.objects.filter(pk__in=user_ids)}
        for user_key in UserKey.objects.filter(user_id__in=user_ids):
            integrity.user_key_check(user_key)
            result[users[user_key.user_id]] = bytes(user_key.public_key)
    return result


def data_key_create(*, ctx: KeyContext, holders: Iterable[Any], granted_by: User | None) -> DataKey:
    """Create a random data key, sealed to each holder and to the organisation recovery key."""
    return data_keys_create(ctx=ctx, holders=holders, granted_by=granted_by, count=1)[0]


def data_keys_create(
    *, ctx: KeyContext, holders: Iterable[Any], granted_by: User | None, count: int
) -> list[DataKey]:
    """Create ``count`` random data keys sealed to the same holders (and the recovery key), in
    two inserts whatever the count: a new request's people, cases and conversation are made in
    one go, and the portal's intake rate depends on it. Runs in the caller's transaction."""
    rows = Rows()
    keys = data_keys_build(ctx=ctx, holders=holders, granted_by=granted_by, count=count, rows=rows)
    rows.save()
    return keys


def data_keys_build(
    *, ctx: KeyContext, holders: Iterable[Any], granted_by: User | None, count: int, rows: Rows
) -> list[DataKey]:
    """:func:`data_keys_create` without writing: the keys and their grants are added to ``rows``
    (the portal seals them before it opens its transaction, :mod:`haven.db.rows`)."""
    from haven.accounts.models import User

    publics = holder_public_keys(holders)
    recipients = {_ref(holder): public for holder, public in publics.items()}
    recipients["recovery"] = recovery_public_key()
    keys: list[DataKey] = []
    sealed_by_key: list[dict[str, bytes]] = []
    # One flushed write for all the keys' erasure secrets, before anything is sealed under them.
    for slot in erasure_store().allocate(count):
        key = DataKey(erasure_slot=slot)
        sealed = ctx.data_key_new(str(key.id), recipients, slot=slot)
        key.recovery_sealed = sealed.pop("recovery")
        integrity.data_key_tag(key)
        keys.append(key)
        sealed_by_key.append(sealed)
    rows.extend(keys)
    now = timezone.now()
    by = granted_by.pk if granted_by is not None else None
    holders_ids = [
        (
            holder.pk if isinstance(holder, User) else None,
            holder.pk if isinstance(holder, TeamKey) else None,
            _ref(holder),
        )
        for holder in publics
    ]
    # As values, not model objects (a chunk of an import has thousands of grants): the same
    # statements (tests/db/test_rows.py), the same tags (integrity.grant_values_tag).
    grants = [
        (
            key.pk,
            user_id,
            team_key_id,
            sealed[ref],
            by,
            now,
            integrity.grant_values_tag(
                data_key_id=key.pk,
                user_id=user_id,
                team_key_id=team_key_id,
                sealed=sealed[ref],
                slot=key.erasure_slot,
            ),
        )
        for key, sealed in zip(keys, sealed_by_key, strict=True)
        for user_id, team_key_id, ref in holders_ids
    ]
    rows.add_values(
        Grant,
        ("data_key_id", "user_id", "team_key_id", "sealed", "granted_by_id", "granted_at", "tag"),
        grants,
    )
    return keys


def _ref(holder: Any) -> str:
    return holder.ref if isinstance(holder, TeamKey) else f"u:{holder.pk}"


def holder_filter(ctx: KeyContext, prefix: str = "") -> Q:
    """Grants addressed to a key this context holds (``prefix`` for a related lookup)."""
    refs = ctx.holder_refs()
    users = [ref[2:] for ref in refs if ref.startswith("u:")]
    teams = [ref[2:] for ref in refs if ref.startswith("t:")]
    return Q(**{f"{prefix}user_id__in": users}) | Q(**{f"{prefix}team_key_id__in": teams})


def data_keys_unlock(*, ctx: KeyContext, key_ids: Iterable[Any]) -> None:
    """Unlock, in one query, every listed data key the context holds a grant for.

    Keys it holds no grant for stay locked (reading those records raises MissingKeyError).
    """
    wanted = {str(key_id) for key_id in key_ids if key_id is not None}
    wanted = {key_id for key_id in wanted if not ctx.has_data_key(key_id)}
    if not wanted:
        return
    grants = (
        Grant.objects.filter(holder_filter(ctx), data_key_id__in=wanted, stale=False)
        .values_list(
            "data_key_id", "user_id", "team_key_id", "sealed", "data_key__erasure_slot", "tag"
        )
        # A person's own grant opens with one sealed box; a team key's needs the team key first.
        # (NULLS FIRST spelled out: PostgreSQL sorts NULL last, which put team grants first.)
        .order_by(F("team_key_id").asc(nulls_first=True))
    )
    for key_id, user_id, team_key_id, sealed, slot, tag in grants:
        key = str(key_id)
        if ctx.has_data_key(key):
            continue
        # A grant a database writer added (of a key they made, or re-pointed to another erasure
        # slot) is refused before it is opened.
        integrity.grant_check(
            data_key_id=key_id,
            slot=slot,
            user_id=user_id,
            team_key_id=team_key_id,
            sealed=sealed,
            stored=tag,
        )
        holder = f"u:{user_id}" if user_id is not None else f"t:{team_key_id}"
        ctx.data_key_unlock(key, holder=holder, sealed=bytes(sealed), slot=slot)


def _unlock(ctx: KeyContext, key_id: Any) -> str:
    key = str(key_id)
    if not ctx.has_data_key(key):
        data_keys_unlock(ctx=ctx, key_ids=[key])
        if not ctx.has_data_key(key):
            raise MissingKeyError("You hold no key for this record.")
    return key


def _aad(record: SealedRecord) -> bytes:
    bound = [_binding_value(getattr(record, name)) for name in record.sealed_bindings]
    return record_aad(record._meta.label_lower, record.pk, record.version, bound)


def _binding_value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return sorted(str(item) for item in value)
    return None if value is None else str(value)


def payload_set(*, ctx: KeyContext, record: R, data: dict[str, Any]) -> R:
    """Encrypt ``data`` into ``record.payload`` for the record's current id and version.

    The caller saves the record; set ``record.version`` first when it changes.
    """
    key_id = _unlock(ctx, record.data_key_id)
    record.payload = ctx.seal(key_id=key_id, data=data, aad=_aad(record))
    return record


def payload_read(*, ctx: KeyContext, record: SealedRecord) -> dict[str, Any]:
    """Decrypt a record's payload; raises :class:`CryptoError` if it was moved or tampered with,
    :class:`MissingKeyError` if the acting person holds no grant for it."""
    key_id = _unlock(ctx, record.data_key_id)
    return ctx.open(key_id=key_id, blob=record.payload, aad=_aad(record))


def _blob_aad(record: SealedRecord, part: str) -> bytes:
    # Bound to the record, the part's name and the record's bindings, not to its version: a file
    # is sealed once and never re-sealed when the record's payload changes.
    bound = [_binding_value(getattr(record, name)) for name in record.sealed_bindings]
    return record_aad(f"{record._meta.label_lower}#{part}", record.pk, 0, bound)


def blob_seal(*, ctx: KeyContext, record: SealedRecord, part: str, data: bytes) -> bytes:
    """Encrypt a file's bytes for one named part of a record (the caller stores the result)."""
    key_id = _unlock(ctx, record.data_key_id)
    return ctx.seal_bytes(key_id=key_id, data=data, aad=_blob_aad(record, part))


def blob_open(*, ctx: KeyContext, record: SealedRecord, part: str, blob: bytes) -> bytes:
    """Decrypt what :func:`blob_seal` sealed; CryptoError if moved or tampered with,
    MissingKeyError if the acting person holds no grant for the record."""
    key_id = _unlock(ctx, record.data_key_id)
    return ctx.open_bytes(key_id=key_id, blob=blob, aad=_blob_aad(record, part))


def record_update(
    *,
    ctx: KeyContext,
    record: R,
    expected_version: int,
    data: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
) -> R:
    """Apply a change only if ``record`` is still at ``expected_version``; bump it and re-seal.

    The conditional UPDATE is the guard: of two concurrent editors at the same version, exactly
    one succeeds and the other gets :class:`~haven.errors.ConflictError`. Call inside a transaction.
    """
    from haven.errors import ConflictError

    model = type(record)
    if record.version != expected_version:
        raise ConflictError(current_version=record.version)
    # Always open what is stored, even when replacing it: a payload that was tampered with (or
    # sealed under a key we should not trust) is refused, never silently overwritten.
    stored = payload_read(ctx=ctx, record=record)
    current = stored if data is None else data
    claimed = model._default_manager.filter(pk=record.pk, version=expected_version).update(
        version=expected_version + 1
    )
    if claimed != 1:
        latest = (
            model._default_manager.filter(pk=record.pk).values_list("version", flat=True).first()
        )
        raise ConflictError(current_version=latest)
    record.version = expected_version + 1
    for name, value in (fields or {}).items():
        setattr(record, name, value)
    payload_set(ctx=ctx, record=record, data=current)
    record.save()
    return record
