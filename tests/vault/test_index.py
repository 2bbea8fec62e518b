"""The blind index: who holds the index key, what tokens are made of, and their lifecycle."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from haven.brokers.services import broker_update
from haven.cases.models import Case
from haven.cases.search import person_search
from haven.cases.services import PersonInput, request_create
from haven.crypto import IndexKey, KeyContext, MissingKeyError, recovery_key_from_words
from haven.vault.index import index_key_create, name_forms, phone_forms, search_tokens_set
from haven.vault.models import (
    DataKey,
    IndexKeyCopy,
    SearchIndexKey,
    SearchIndexPending,
    SearchToken,
    TeamKeyKind,
)
from haven.vault.services import data_key_shred, key_shares_sync, team_key_rotate
from tests.factories import ctx_for, make_broker

pytestmark = pytest.mark.django_db


def _request(ctx, actor, *names: str, owner=None):
    people = [PersonInput(name_hangul=n) for n in names]
    return request_create(
        ctx=ctx, actor=actor, channel="direct_line", account="Help us.", people=people, owner=owner
    )


def test_a_name_is_indexed_under_the_same_forms_in_hangul_and_every_romanization():
    forms = set(name_forms("김선희"))
    for spelling in ("Kim Sun-hui", "Gim Seon-hui", "Kim Sunhee", "KIM  sun-hui"):
        assert forms & set(name_forms(spelling)), spelling
    assert not forms & set(name_forms("Pak Jong-min"))


def test_names_that_do_not_read_as_korean_are_found_by_their_casefolded_spelling():
    assert set(name_forms("John SMITH")) & set(name_forms("john smith"))
    assert set(name_forms("Straße")) & set(name_forms("STRASSE"))
    assert name_forms("") == [] and name_forms("\x00\u200b") == []


def test_phone_numbers_index_their_digits_only_when_there_are_at_least_six():
    assert phone_forms("+86 138-0013-8000") == ["8613800138000"]
    assert phone_forms("WeChat jang88, phone (010) 1234.5678\nalt 139 1111 2222") == [
        "01012345678",
        "13911112222",
    ]
    assert phone_forms("room 12345, floor 3") == []


def test_setup_seals_the_index_key_to_the_staff_key_and_the_recovery_key_only(org):
    index_key = SearchIndexKey.objects.get(active=True)
    copy = IndexKeyCopy.objects.get(index_key=index_key)
    assert copy.team_key.kind == TeamKeyKind.STAFF
    recovered = IndexKey.open(
        recovery_key_from_words(org.recovery_words), bytes(index_key.recovery_sealed)
    )
    assert recovered.token("name", "kim son.hi") == org.ctx.index_token("name", "kim son.hi")
    with pytest.raises(ValidationError, match="exists already"):
        index_key_create(ctx=None, staff_key=copy.team_key, recovery_public=b"\0" * 32)


def test_people_who_hold_the_staff_key_compute_tokens_and_nobody_else(
    alice, bob, dave, erin, frank, grace, heidi
):
    for user in (alice, bob, dave):
        ctx = ctx_for(user)
        assert ctx.holds_index_key(), user.username
        assert len(ctx.index_token("name", "kim son.hi")) == 16
    for user in (erin, frank, grace, heidi):
        ctx = ctx_for(user)
        assert not ctx.holds_index_key(), user.username
        with pytest.raises(MissingKeyError):
            ctx.index_token("name", "kim son.hi")


def test_the_index_key_is_opened_only_when_first_used(bob):
    ctx = ctx_for(bob)
    assert ctx._index is None and ctx.holds_index_key()
    ctx.index_token("name", "x")
    assert ctx._index is not None
    ctx.forget()
    assert not ctx.holds_index_key()


def test_tokens_hold_no_plaintext(ctx, alice):
    _request(ctx, alice, "김선희")
    broker = make_broker(ctx=ctx, actor=alice, alias="Mr Jangmarker", contact="+86 138 0013 8000")
    stored = b"".join(
        bytes(token) + purpose.encode()
        for token, purpose in SearchToken.objects.values_list("token", "purpose")
    )
    assert SearchToken.objects.filter(data_key_id=broker.data_key_id, purpose="phone").exists()
    assert all(len(bytes(t)) == 16 for t in SearchToken.objects.values_list("token", flat=True))
    for plain in ("김선희", "kim son.hi", "gim seonhui", "jangmarker", "8613800138000", "0013"):
        for encoding in ("utf-8", "utf-16-le"):
            assert plain.encode(encoding) not in stored, plain
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM vault_searchtoken")
        raw = repr(cursor.fetchall()).lower()
    assert "jang" not in raw and "kim" not in raw


def test_shredding_a_data_key_deletes_its_tokens(ctx, alice):
    broker = make_broker(ctx=ctx, actor=alice, alias="Mr Jang")
    key_id = broker.data_key_id
    assert SearchToken.objects.filter(data_key_id=key_id).exists()

    broker.delete()
    data_key_shred(key_id=key_id)

    assert not DataKey.objects.filter(pk=key_id).exists()
    assert not SearchToken.objects.filter(data_key_id=key_id).exists()


def test_a_broker_update_replaces_the_brokers_tokens(buckets_that_never_collide, ctx, alice):
    broker = make_broker(ctx=ctx, actor=alice, alias="Mr Jang", contact="tel 138 0013 8000")
    before = set(SearchToken.objects.filter(data_key_id=broker.data_key_id).values_list("token"))

    broker_update(ctx=ctx, actor=alice, broker=broker, expected_version=1, alias="Auntie Choi")

    after = set(SearchToken.objects.filter(data_key_id=broker.data_key_id).values_list("token"))
    assert after and not before & after
    assert not SearchToken.objects.filter(data_key_id=broker.data_key_id, purpose="phone").exists()


def test_a_writer_without_the_index_key_is_not_blocked_and_the_record_is_indexed_later(
    org, alice, bob
):
    # Someone whose context cannot compute tokens can still record a request...
    assert not _without_index_key(alice).holds_index_key()
    request = _request(ctx_for(alice), alice, "박정민")  # indexed: alice holds the key
    pending_request = request_create(
        ctx=_without_index_key(alice),
        actor=alice,
        channel="direct_line",
        account="Help.",
        people=[PersonInput(name_hangul="김선희")],
    )
    case = pending_request.cases.get()
    assert SearchIndexPending.objects.filter(data_key_id=case.data_key_id).exists()
    assert not SearchToken.objects.filter(data_key_id=case.data_key_id).exists()

    # ...and the next search by someone holding the index key who can open it indexes it.
    found = person_search(ctx=ctx_for(alice), user=alice, query="Kim Sun-hui")

    assert list(found) == [case]
    assert not SearchIndexPending.objects.exists()
    assert request.cases.get() not in found


def _without_index_key(user) -> KeyContext:
    """The context ``user`` would have before the all-staff key was shared with them."""
    full = ctx_for(user)
    ctx = KeyContext(actor_id=user.pk)
    own = f"u:{user.pk}"
    ctx.add_holder(own, full._holder(own))
    for ref in full.holder_refs() - {own}:
        ctx.add_holder(ref, full._holder(ref))
    return ctx


def test_search_tokens_are_not_made_when_the_organisation_has_no_index_key(ctx, alice):
    SearchIndexKey.objects.all().delete()
    request = _request(ctx, alice, "김선희")

    assert not SearchToken.objects.exists()
    assert not SearchIndexPending.objects.exists()
    assert search_tokens_set(ctx=ctx, data_key_id=request.data_key_id, values={"name": ["x"]}) == 0
    with pytest.raises(ValidationError, match="not set up"):
        list(person_search(ctx=ctx, user=alice, query="김선희"))


def test_search_keeps_working_after_someone_leaves_the_staff_key(org, alice, bob, dave):
    request = _request(ctx_for(alice), alice, "김선희", owner=bob)
    staff = IndexKeyCopy.objects.get().team_key

    dave.is_active = False
    dave.save()
    key_shares_sync(actor=None, user=dave)
    team_key_rotate(ctx=org.ctx, actor=None, team_key=staff)

    bob_ctx = ctx_for(bob)
    assert bob_ctx.holds_index_key()
    assert list(person_search(ctx=bob_ctx, user=bob, query="Gim Seon-hui")) == [request.cases.get()]
    assert not ctx_for(dave).holds_index_key()


def test_rotating_a_case_key_carries_its_tokens_over(ctx, alice, bob, carol):
    from haven.cases.services import case_grant, case_revoke

    case = _request(ctx, alice, "김선희", owner=bob).cases.get()
    case_grant(ctx=ctx, actor=alice, case=case, holder=carol)

    case_revoke(ctx=ctx, actor=alice, case=Case.objects.get(pk=case.pk), holder=carol, rotate=True)

    rotated = Case.objects.get(pk=case.pk)
    assert rotated.data_key_id != case.data_key_id
    assert not SearchToken.objects.filter(data_key_id=case.data_key_id).exists()
    assert list(person_search(ctx=ctx_for(bob), user=bob, query="Kim Sun-hui")) == [rotated]


def test_a_search_indexes_only_pending_records_the_searcher_can_open(alice, bob, carol):
    case = request_create(
        ctx=_without_index_key(bob),
        actor=bob,
        channel="direct_line",
        account="Help.",
        people=[PersonInput(name_hangul="김선희")],
    ).cases.get()

    assert list(person_search(ctx=ctx_for(carol), user=carol, query="김선희")) == []
    assert SearchIndexPending.objects.filter(data_key_id=case.data_key_id).exists()

    assert list(person_search(ctx=ctx_for(bob), user=bob, query="김선희")) == [case]
    assert not SearchIndexPending.objects.exists()
