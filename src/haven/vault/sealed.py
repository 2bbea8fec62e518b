"""The sensitive-data boundary: every read and write of a payload passes through here.

Each function takes the acting person's :class:`~haven.crypto.KeyContext`; the key-custody work
changes only where that context gets its keys.
"""

from __future__ import annotations

from typing import Any, TypeVar

from haven.crypto import CryptoError, KeyContext, record_aad
from haven.vault.models import DataKey, SealedRecord

R = TypeVar("R", bound=SealedRecord)

__all__ = ["CryptoError", "data_key_create", "payload_read", "payload_set", "record_update"]


def data_key_create(*, ctx: KeyContext) -> DataKey:
    """Create and store a new sealed data key."""
    key = DataKey()
    key.sealed = ctx.new_sealed_data_key(str(key.id))
    key.save(force_insert=True)
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
    key = record.data_key
    record.payload = ctx.seal(
        key_id=str(key.pk), sealed_key=key.sealed, data=data, aad=_aad(record)
    )
    return record


def payload_read(*, ctx: KeyContext, record: SealedRecord) -> dict[str, Any]:
    """Decrypt a record's payload; raises :class:`CryptoError` if it was moved or tampered with."""
    key = record.data_key
    return ctx.open(
        key_id=str(key.pk), sealed_key=key.sealed, blob=record.payload, aad=_aad(record)
    )


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
