"""Catching up people's encodings: computed before the write transaction opens, stored with
whatever must go with them in one transaction."""

from __future__ import annotations

import pytest
from django.db import connection

from haven.dedupe import store
from haven.dedupe.models import PersonEncoding
from haven.dedupe.selectors import duplicates_for_cases
from haven.dedupe.store import encodings_refresh
from haven.vault.index import index_key_active
from tests.dedupe.helpers import HANGUL, MR, record


def _pending(case) -> None:
    store._mark_pending(case.person_id)
    assert PersonEncoding.objects.get(person_id=case.person_id).generation is None


def _current(case) -> bool:
    row = PersonEncoding.objects.get(person_id=case.person_id)
    return row.generation == index_key_active().generation and row.blooms != b""


@pytest.mark.django_db(transaction=True)
def test_people_are_encoded_before_the_write_transaction_opens(alice, ctx, monkeypatch):
    """On SQLite a transaction holds the database's one write lock: decrypting and encoding a
    batch inside one made every other page's audit entry wait."""
    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    for case in (first, second):
        _pending(case)
    encoded_in_transaction = []
    real = store.encode_one

    def encode_one(**kwargs):
        encoded_in_transaction.append(connection.in_atomic_block)
        return real(**kwargs)

    monkeypatch.setattr(store, "encode_one", encode_one)
    # As the request page does: its people's possible duplicates, caught up first.
    views = duplicates_for_cases(ctx=ctx, user=alice, cases=[first, second])

    assert len(encoded_in_transaction) >= 2 and not any(encoded_in_transaction)
    assert {frozenset((v.case.pk, v.other.pk)) for v in views} == {frozenset((first.pk, second.pk))}
    assert _current(first) and _current(second)


@pytest.mark.django_db(transaction=True)
def test_what_follows_the_encodings_is_stored_with_them_or_not_at_all(alice, ctx):
    case = record(ctx=ctx, actor=alice, **HANGUL)
    _pending(case)

    def fails(person_ids):
        raise RuntimeError("the duplicates search failed")

    with pytest.raises(RuntimeError):
        encodings_refresh(ctx=ctx, cases=[case], then=fails)
    assert PersonEncoding.objects.get(person_id=case.person_id).generation is None

    seen = []
    assert encodings_refresh(ctx=ctx, cases=[case], then=seen.append) == [case.person_id]
    assert seen == [[case.person_id]]
    assert _current(case)
    # Already current: nothing to do, and nothing is called for nobody.
    assert encodings_refresh(ctx=ctx, cases=[case], then=seen.append) == []
    assert seen == [[case.person_id]]


@pytest.mark.django_db(transaction=True)
def test_a_person_edited_while_being_encoded_keeps_the_encodings_of_the_edit(
    alice, ctx, monkeypatch
):
    """Encoding happens outside the transaction: an edit that lands meanwhile stores encodings
    of the new details, which the catch-up must not overwrite with the old ones."""
    from haven.cases.services import person_update
    from tests.dedupe.helpers import person

    case = record(ctx=ctx, actor=alice, **HANGUL)
    _pending(case)
    real = store.encode_one
    edited = []

    def encode_one(**kwargs):
        packed = real(**kwargs)
        if not edited:
            edited.append(True)
            fresh = type(case).objects.select_related("person").get(pk=case.pk)
            person_update(
                ctx=ctx,
                actor=alice,
                case=fresh,
                expected_version=fresh.person.version,
                person=person(name_romanized="Pak Yong-ho", birth_value="1950"),
            )
        return packed

    monkeypatch.setattr(store, "encode_one", encode_one)

    assert encodings_refresh(ctx=ctx, cases=[case]) == []
    after_edit = PersonEncoding.objects.get(person_id=case.person_id)
    monkeypatch.setattr(store, "encode_one", real)
    fresh = type(case).objects.select_related("person").get(pk=case.pk)
    # What the edit stored is what encoding the person's current details gives.
    expected = store.encode_one(
        record=store.record_from_payload(
            record_id=str(fresh.person_id),
            data=store.payload_read(ctx=ctx, record=fresh.person),
            broker_id=None,
        ),
        hasher_for=ctx.index_hasher,
    )
    assert bytes(after_edit.blooms) == expected.blooms


@pytest.mark.django_db
def test_the_people_waiting_for_encodings_are_the_pending_and_those_made_another_way(alice, ctx):
    cases = [record(ctx=ctx, actor=alice, name_hangul=f"김선{i}") for i in range(5)]
    generation = index_key_active().generation
    assert store.waiting_person_ids(generation=generation, limit=10) == []
    _pending(cases[0])
    PersonEncoding.objects.filter(person_id=cases[1].person_id).update(generation=generation - 1)
    PersonEncoding.objects.filter(person_id=cases[2].person_id).update(encoding_version="0-old")
    # Pending and from an older version at once: listed once.
    PersonEncoding.objects.filter(person_id=cases[0].person_id).update(encoding_version="0-old")
    waiting = store.waiting_person_ids(generation=generation, limit=10)
    assert sorted(map(str, waiting)) == sorted(str(c.person_id) for c in cases[:3])
    assert len(store.waiting_person_ids(generation=generation, limit=2)) == 2
    # The same people as the one filter that defines them.
    defined = PersonEncoding.objects.filter(store.waiting_encodings(generation=generation))
    assert set(waiting) == set(defined.values_list("person_id", flat=True))
