"""Finding a person's case by name, through the blind index (:mod:`haven.vault.index`).

Names are never stored in a plain column: each person's names and aliases are kept as keyed
tokens under their case's data key, and a search compares the query's tokens. 김선희, Kim Sun-hui
and Gim Seon-hui give the same token; so, by design of the coarse key, do names the spelling
cannot tell apart (김순희). The result is always limited to the cases the user may see.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.brokers.models import Broker
from haven.brokers.services import broker_index_values
from haven.cases.models import Case, Person
from haven.crypto import CryptoError, KeyContext
from haven.validation import clean_text
from haven.vault.index import pending_data_keys, search_data_keys, search_tokens_set
from haven.vault.models import SearchPurpose
from haven.vault.sealed import data_keys_unlock, payload_read

MAX_QUERY_CHARS = 200
REFRESH_BATCH = 100


def person_index_values(data: dict[str, Any]) -> dict[str, list[str]]:
    """What of a person's payload is searchable: their names, and their aliases."""
    names = [data.get("name_hangul") or "", data.get("name_romanized") or ""]
    return {
        SearchPurpose.NAME: [name for name in names if name],
        SearchPurpose.ALIAS: [a for a in data.get("aliases") or [] if isinstance(a, str)],
    }


def search_index_refresh(*, ctx: KeyContext, actor: User | None, limit: int = REFRESH_BATCH) -> int:
    """Index the records written without search tokens (by someone who did not hold the index
    key yet) that ``ctx`` can open, at most ``limit`` of them. Returns how many were indexed.

    Nothing decrypted here is shown to anyone; one audit entry records which keys were indexed.
    """
    if not ctx.holds_index_key():
        return 0
    pending = pending_data_keys(ctx=ctx, limit=limit)
    if not pending:
        return 0
    data_keys_unlock(ctx=ctx, key_ids=pending)
    mine = [key_id for key_id in pending if ctx.has_data_key(key_id)]
    if not mine:
        return 0
    values: dict[str, dict[str, list[str]]] = {key_id: {} for key_id in mine}
    records: list[tuple[Any, Any]] = [
        *((p, person_index_values) for p in Person.objects.filter(data_key_id__in=mine)),
        *((b, broker_index_values) for b in Broker.objects.filter(data_key_id__in=mine)),
    ]
    failed: set[str] = set()
    for record, extract in records:
        key_id = str(record.data_key_id)
        try:
            found = extract(payload_read(ctx=ctx, record=record))
        except CryptoError:
            failed.add(key_id)  # fails its integrity check: stays pending, and unread
            continue
        for purpose, items in found.items():
            values[key_id].setdefault(purpose, []).extend(items)
    indexed = [key_id for key_id in mine if key_id not in failed]
    with transaction.atomic():
        for key_id in indexed:
            search_tokens_set(ctx=ctx, data_key_id=key_id, values=values[key_id])
        if indexed:
            audit_record(actor=actor, action="search.index", detail={"data_keys": indexed})
    return len(indexed)


def person_search(
    *, ctx: KeyContext, user: User, query: str, cases: QuerySet[Case] | None = None
) -> QuerySet[Case]:
    """The cases ``user`` may see whose person has a name or alias matching ``query``.

    ``cases`` narrows an existing queryset (a filtered, ordered case list); by default all cases.
    Refused (PermissionDenied) for roles that see no cases and for people who do not hold the
    all-staff key; an overlong query or one with control characters is a ValidationError on
    ``q``; a query with no letters or digits finds nothing.
    """
    if not access.has_role(user, access.CASE_READERS):
        raise PermissionDenied("Your role cannot see cases.")
    text = clean_text(query, field="q", max_length=MAX_QUERY_CHARS, multiline=False)
    base = Case.objects.all() if cases is None else cases
    base = base.filter(access.visible_to(user))
    if not text:
        return base.none()
    if not ctx.holds_index_key():
        raise PermissionDenied(
            "You cannot search by name: you do not hold the all-staff key yet. "
            "Ask a supervisor to share it with you."
        )
    search_index_refresh(ctx=ctx, actor=user)
    keys = search_data_keys(ctx=ctx, purposes=(SearchPurpose.NAME, SearchPurpose.ALIAS), query=text)
    if keys is None:
        return base.none()
    audit_record(actor=user, action="case.search", detail={})
    return base.filter(data_key_id__in=keys)
