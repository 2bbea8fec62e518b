"""Writing a person's keyed encodings when they are saved (or marking them to compute later).

Follows :func:`haven.vault.index.search_tokens_set`: called inside the saving service's
transaction; when the acting key context does not hold the index key (the portal's never does),
the person is marked pending and encoded later, by someone who holds the index key and can open
the record (their next look at possible duplicates) or by ``haven dedupe``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from haven.cases.models import Case, Person
from haven.crypto import KeyContext, MissingKeyError
from haven.db.rows import Rows
from haven.dedupe.models import BlockToken, PersonEncoding
from haven.dedupe.scoring import VERSION, encode_many, encode_one, record_from_payload
from haven.vault.index import index_key_active
from haven.vault.models import SearchIndexKey
from haven.vault.sealed import data_keys_unlock, payload_read


def _store(*, person_id: Any, generation: int, packed: Any) -> None:
    PersonEncoding.objects.update_or_create(
        person_id=person_id,
        defaults={
            "generation": generation,
            "encoding_version": VERSION,
            "blooms": packed.blooms,
            "tokens": packed.tokens,
            "block": packed.block_bytes,
            "pending_since": None,
            "updated_at": timezone.now(),
        },
    )
    BlockToken.objects.filter(person_id=person_id).delete()
    BlockToken.objects.bulk_create(
        [BlockToken(person_id=person_id, token=token) for token in packed.block]
    )


def _mark_pending(person_id: Any) -> None:
    now = timezone.now()
    encoding, created = PersonEncoding.objects.get_or_create(
        person_id=person_id,
        defaults={"generation": None, "pending_since": now, "updated_at": now},
    )
    if not created:
        # Stale encodings of the old values would match the old person: dropped at once.
        PersonEncoding.objects.filter(pk=encoding.pk).update(
            generation=None,
            blooms=b"",
            tokens=b"",
            block=b"",
            pending_since=encoding.pending_since or now,
            updated_at=now,
        )
    BlockToken.objects.filter(person_id=person_id).delete()


def person_encoding_set(
    *, ctx: KeyContext, person: Person, data: dict[str, Any], broker_id: Any = None
) -> bool:
    """Store ``person``'s keyed encodings computed from ``data`` (their payload, as just saved).
    Returns whether they were computed (False: marked pending, or no index key at all). Runs in
    the caller's transaction."""
    index_key = index_key_active()
    if index_key is None:
        return False
    if not ctx.holds_index_key():
        _mark_pending(person.pk)
        return False
    record = record_from_payload(record_id=str(person.pk), data=data, broker_id=broker_id)
    _store(
        person_id=person.pk,
        generation=index_key.generation,
        packed=encode_one(record=record, hasher_for=ctx.index_hasher),
    )
    return True


def person_encodings_build(
    *,
    ctx: KeyContext,
    people: Sequence[tuple[Person, dict[str, Any]]],
    broker_id: Any = None,
    index_key: SearchIndexKey | None,
    rows: Rows,
) -> int:
    """:func:`person_encoding_set` for people made with the caller's new rows (nothing to
    replace): their encodings and blocking tokens, or pending marks when this context does not
    hold the index key, added to ``rows``. Returns how many were computed. ``index_key``: the
    active one (:func:`~haven.vault.index.index_key_active`), read once by the caller."""
    if index_key is None or not people:
        return 0
    now = timezone.now()
    if not ctx.holds_index_key():
        rows.extend(
            PersonEncoding(person_id=person.pk, generation=None, pending_since=now, updated_at=now)
            for person, _data in people
        )
        return 0
    encodings, blocks = [], []
    records = [
        record_from_payload(record_id=str(person.pk), data=data, broker_id=broker_id)
        for person, data in people
    ]
    for (person, _data), packed in zip(
        people, encode_many(records=records, hasher_for=ctx.index_hasher), strict=True
    ):
        encodings.append(
            PersonEncoding(
                person_id=person.pk,
                generation=index_key.generation,
                encoding_version=VERSION,
                blooms=packed.blooms,
                tokens=packed.tokens,
                block=packed.block_bytes,
                pending_since=None,
                updated_at=now,
            )
        )
        blocks += [(person.pk, token) for token in packed.block]
    rows.extend(encodings)
    rows.add_values(BlockToken, ("person_id", "token"), blocks)  # as values: see search tokens
    return len(encodings)


def stale_person_ids(*, generation: int) -> Q:
    """People whose encodings are missing, pending, or from another key generation or
    encoding version (a filter on ``Person``)."""
    current = PersonEncoding.objects.filter(generation=generation, encoding_version=VERSION)
    return ~Q(pk__in=current.values("person_id"))


def waiting_encodings(*, generation: int) -> Q:
    """Encodings rows that wait to be (re)made: pending, or from another key generation or
    encoding version (a filter on ``PersonEncoding``).

    Spelled as ranges so that each term is answered from an index: a page load asks this, and
    on a working day nearly nobody waits (a person without any row is left to ``haven dedupe``,
    which :func:`stale_person_ids` finds by reading everyone)."""
    return (
        Q(generation__isnull=True)
        | Q(generation__lt=generation)
        | Q(generation__gt=generation)
        | Q(encoding_version__lt=VERSION)
        | Q(encoding_version__gt=VERSION)
    )


def waiting_person_ids(*, generation: int, limit: int) -> list[Any]:
    """Up to ``limit`` people whose encodings wait (:func:`waiting_encodings`), each term read
    from its index in turn. Asked as one OR, SQLite's planner scanned every encoding instead
    (60 ms a request page at 130,000 people, with nobody waiting)."""
    generation_terms = [
        Q(generation__isnull=True),
        Q(generation__lt=generation),
        Q(generation__gt=generation),
    ]
    version_terms = [Q(encoding_version__lt=VERSION), Q(encoding_version__gt=VERSION)]
    found: dict[Any, None] = {}
    for term in [*generation_terms, *version_terms]:
        if len(found) >= limit:
            break
        rows = PersonEncoding.objects.filter(term).values_list("person_id", flat=True)
        found.update(dict.fromkeys(rows[:limit]))
    return list(found)[:limit]


def encodings_refresh(
    *,
    ctx: KeyContext,
    cases: Iterable[Case],
    then: Callable[[list[Any]], object] | None = None,
) -> list[Any]:
    """Compute the encodings of these cases' people that ``ctx`` can open and that are missing
    or stale; people it cannot open are left as they are. Returns the ids of the people whose
    encodings were computed; ``then`` is called with them in the transaction that stores them.

    The payloads are decrypted and encoded first, and only the writes run in a transaction
    (the caller's, or one of their own): on SQLite a transaction holds the database's one write
    lock, and every page's audit entry would wait behind the encoding of a batch of people."""
    index_key = index_key_active()
    if index_key is None or not ctx.holds_index_key():
        return []
    cases = list(cases)
    if not cases:
        return []
    # Only these people's rows are read: a NOT IN over everyone's current encodings made every
    # request page read the whole table.
    current = set(
        PersonEncoding.objects.filter(
            person_id__in=[c.person_id for c in cases],
            generation=index_key.generation,
            encoding_version=VERSION,
        ).values_list("person_id", flat=True)
    )
    todo = [c for c in cases if c.person_id not in current]
    if not todo:
        return []
    data_keys_unlock(ctx=ctx, key_ids=[c.data_key_id for c in todo])
    computed = []
    for case in todo:
        if not ctx.has_data_key(str(case.data_key_id)):
            continue
        try:
            data = payload_read(ctx=ctx, record=case.person)
        except MissingKeyError:
            continue
        record = record_from_payload(
            record_id=str(case.person_id), data=data, broker_id=_broker_of(case)
        )
        packed = encode_one(record=record, hasher_for=ctx.index_hasher)
        computed.append((case.person_id, case.person.version, packed))
    if not computed:
        return []
    with transaction.atomic():
        # Someone may have edited a person while they were encoded here (and stored encodings
        # of the new details): those encodings stand. The rows are locked until this commits,
        # so an edit after this check waits for it and stores its own.
        versions = dict(
            Person.objects.select_for_update()
            .filter(pk__in=[person_id for person_id, _, _ in computed])
            .values_list("pk", "version")
        )
        done = [
            person_id for person_id, version, _ in computed if versions.get(person_id) == version
        ]
        packs = {person_id: packed for person_id, _, packed in computed}
        for person_id in done:
            _store(person_id=person_id, generation=index_key.generation, packed=packs[person_id])
        if then is not None:
            then(done)
    return done


def _broker_of(case: Case) -> Any:
    return case.request.broker_id if case.request_id and case.request is not None else None
