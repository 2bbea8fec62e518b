"""Brokers: create, edit, suspend. Their record is derived from requests (see selectors)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.brokers.models import Broker, BrokerStatus
from haven.crypto import KeyContext
from haven.validation import clean_choice, clean_text
from haven.vault.holders import staff_holders
from haven.vault.index import search_tokens_set
from haven.vault.models import SearchPurpose
from haven.vault.sealed import data_key_create, payload_set, record_update


def _clean(alias: str, region: str, contact: str, fee_notes: str, warnings: str) -> dict[str, Any]:
    return {
        "alias": clean_text(alias, field="alias", max_length=200, required=True, multiline=False),
        "region": clean_text(region, field="region", max_length=200, multiline=False),
        "contact": clean_text(contact, field="contact", max_length=1_000),
        "fee_notes": clean_text(fee_notes, field="fee_notes", max_length=5_000),
        "warnings": clean_text(warnings, field="warnings", max_length=5_000),
    }


def broker_index_values(data: dict[str, Any]) -> dict[str, list[str]]:
    """What of a broker's payload is searchable (blind index): their alias, and the phone
    numbers in their contact details."""
    return {
        SearchPurpose.BROKER: [data.get("alias") or ""],
        SearchPurpose.PHONE: [data.get("contact") or ""],
    }


@transaction.atomic
def broker_create(
    *,
    ctx: KeyContext,
    actor: User,
    alias: str,
    region: str = "",
    contact: str = "",
    fee_notes: str = "",
    warnings: str = "",
) -> Broker:
    """Register a broker; everything about them but their status is encrypted."""
    if not access.has_role(actor, access.BROKER_READERS):
        raise PermissionDenied("Your role cannot register brokers.")
    key = data_key_create(ctx=ctx, holders=staff_holders(actor=actor), granted_by=actor)
    broker = Broker(data_key=key, created_at=timezone.now(), created_by=actor)
    data = _clean(alias, region, contact, fee_notes, warnings)
    payload_set(ctx=ctx, record=broker, data=data)
    broker.save(force_insert=True)
    search_tokens_set(ctx=ctx, data_key_id=key.pk, values=broker_index_values(data))
    audit_record(actor=actor, action="broker.create", target=broker)
    return broker


@transaction.atomic
def broker_update(
    *,
    ctx: KeyContext,
    actor: User,
    broker: Broker,
    expected_version: int,
    alias: str,
    region: str = "",
    contact: str = "",
    fee_notes: str = "",
    warnings: str = "",
) -> Broker:
    """Replace a broker's details."""
    if not access.has_role(actor, access.BROKER_READERS):
        raise PermissionDenied("Your role cannot change brokers.")
    data = _clean(alias, region, contact, fee_notes, warnings)
    record_update(ctx=ctx, record=broker, expected_version=expected_version, data=data)
    search_tokens_set(ctx=ctx, data_key_id=broker.data_key_id, values=broker_index_values(data))
    audit_record(actor=actor, action="broker.update", target=broker)
    return broker


@transaction.atomic
def broker_set_status(
    *, ctx: KeyContext, actor: User, broker: Broker, expected_version: int, status: str
) -> Broker:
    """Suspend a broker at once, or reinstate them (supervisors only)."""
    if not access.allowed(actor, "broker.suspend"):
        raise PermissionDenied("Only supervisors suspend or reinstate brokers.")
    status = clean_choice(status, field="status", choices=BrokerStatus.values)
    record_update(
        ctx=ctx, record=broker, expected_version=expected_version, fields={"status": status}
    )
    revoked = 0
    if status == BrokerStatus.SUSPENDED:
        from haven.brokers.credentials import broker_credential_revoke

        # The portal credential and every broker session end in this same transaction.
        revoked = broker_credential_revoke(broker=broker)
    audit_record(
        actor=actor,
        action="broker.status",
        target=broker,
        detail={"status": status, "credential_revoked": bool(revoked)},
    )
    return broker
