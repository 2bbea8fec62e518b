"""`haven keys rotate-index`: every blind-index token rebuilt under a new index key, in resumable
batches, while search keeps working on the old key until one transaction switches over."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from haven.audit.models import AuditEntry
from haven.brokers.services import broker_update
from haven.cases.models import Case
from haven.cases.search import person_search
from haven.cases.services import PersonInput, request_create
from haven.crypto import CryptoError
from haven.vault.index import search_data_keys
from haven.vault.index_rotation import index_key_rotate
from haven.vault.models import (
    Grant,
    IndexKeyCopy,
    SearchIndexKey,
    SearchIndexPending,
    SearchToken,
    TeamKeyKind,
)
from haven.vault.services import team_key_rotate
from tests.factories import PASSWORD, ctx_for, make_broker

pytestmark = pytest.mark.django_db


class Interrupted(Exception):
    """Stands for a crash or a Ctrl-C between two batches."""


def _case(ctx, actor, name: str, owner=None) -> Case:
    return request_create(
        ctx=ctx,
        actor=actor,
        channel="direct_line",
        account="Help us.",
        people=[PersonInput(name_hangul=name)],
        owner=owner,
    ).cases.get()


def _found(user, query: str) -> list[Case]:
    return list(person_search(ctx=ctx_for(user), user=user, query=query))


def _brokers_found(user, phone: str) -> set[str]:
    keys = search_data_keys(ctx=ctx_for(user), purposes=("phone",), query=phone)
    return {str(key_id) for key_id in keys.values_list("data_key_id", flat=True)} if keys else set()


def _generations() -> list[tuple[int, bool]]:
    return list(SearchIndexKey.objects.order_by("generation").values_list("generation", "active"))


def _tokens() -> set[tuple[int, str, bytes, str]]:
    return {
        (generation, purpose, bytes(token), str(key_id))
        for generation, purpose, token, key_id in SearchToken.objects.values_list(
            "generation_id", "purpose", "token", "data_key_id"
        )
    }


def _interrupt(done: int, total: int) -> None:
    raise Interrupted


@pytest.fixture
def records(ctx, alice, bob, carol):
    """Cases of two teams, one unassigned, and a broker, indexed under the first index key."""
    return {
        "kim": _case(ctx, alice, "김선희", owner=bob),
        "ri": _case(ctx, alice, "리영호", owner=carol),
        "pak": _case(ctx, alice, "박정민"),
        "broker": make_broker(ctx=ctx, actor=alice, alias="Mr Jang", contact="+86 138 0013 8000"),
    }


def test_after_rotation_every_record_is_found_through_tokens_of_the_new_key_only(
    buckets_that_never_collide, records, alice, bob, carol
):
    before = _tokens()
    calls: list[tuple[int, int]] = []

    result = index_key_rotate(
        supervisor=alice, password=PASSWORD, batch=2, progress=lambda *a: calls.append(a)
    )

    assert _generations() == [(2, True)]
    assert calls == [(2, 4), (4, 4)]
    assert (result.old_generation, result.new_generation, result.indexed) == (1, 2, 4)
    assert "generation 2 replaces generation 1" in str(result)
    after = _tokens()
    assert {generation for generation, *_ in after} == {2}
    # The same records and values, under a different key: no token survives.
    assert {key for *_, key in after} == {key for *_, key in before}
    assert len(after) == len(before)
    assert not {token for _, _, token, _ in before} & {token for _, _, token, _ in after}
    assert not IndexKeyCopy.objects.filter(index_key_id=1).exists()
    copy = IndexKeyCopy.objects.get(index_key_id=2)
    assert copy.team_key.kind == TeamKeyKind.STAFF and copy.team_key.active
    assert _found(alice, "Kim Sun-hui") == [records["kim"]]
    assert _found(alice, "Ri Yong-ho") == [records["ri"]]
    assert _found(alice, "박정민") == [records["pak"]]
    assert _found(bob, "Gim Seon-hui") == [records["kim"]]
    assert _found(carol, "Kim Sun-hui") == []  # still only the cases she may see
    assert _brokers_found(bob, "+86 138-0013-8000") == {str(records["broker"].data_key_id)}
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "search.index_rotate_start" in actions and "search.index_rotate" in actions


def test_an_interrupted_rotation_leaves_search_on_the_old_key_and_a_second_run_completes_it(
    ctx, records, alice, bob
):
    with pytest.raises(Interrupted):
        index_key_rotate(supervisor=alice, password=PASSWORD, batch=1, progress=_interrupt)

    # Half-way: the new generation is there, unused; every search still works on the old one.
    assert _generations() == [(1, True), (2, False)]
    assert SearchToken.objects.filter(generation_id=2).values("data_key_id").distinct().count() == 1
    assert _found(alice, "Kim Sun-hui") == [records["kim"]]
    assert _found(alice, "Ri Yong-ho") == [records["ri"]]
    assert _brokers_found(alice, "8613800138000") == {str(records["broker"].data_key_id)}

    # Written while the rotation waits: tokens of the active (old) generation only.
    late = _case(ctx, alice, "최은정", owner=bob)
    assert set(
        SearchToken.objects.filter(data_key_id=late.data_key_id).values_list(
            "generation_id", flat=True
        )
    ) == {1}
    assert _found(bob, "Choe Un-jong") == [late]

    result = index_key_rotate(supervisor=alice, password=PASSWORD, batch=1, progress=None)

    assert result.resumed and "Resumed" in str(result)
    assert result.indexed == 4  # the three left, and the case written meanwhile
    assert _generations() == [(2, True)]
    assert set(SearchToken.objects.values_list("generation_id", flat=True)) == {2}
    assert _found(bob, "Choe Un-jong") == [late]
    assert _found(alice, "Kim Sun-hui") == [records["kim"]]
    assert _found(alice, "Pak Jong-min") == [records["pak"]]


def test_a_record_changed_during_the_last_batch_is_indexed_by_the_switch(records, ctx, alice):
    broker = records["broker"]

    def edit_at_the_end(done: int, total: int) -> None:
        if done == total:  # every record has its new tokens: the change drops the broker's
            broker_update(
                ctx=ctx,
                actor=alice,
                broker=broker,
                expected_version=1,
                alias="Auntie Choi",
                contact="010 1234 5678",
            )

    result = index_key_rotate(
        supervisor=alice, password=PASSWORD, batch=10, progress=edit_at_the_end
    )

    assert result.late == 1
    assert set(SearchToken.objects.values_list("generation_id", flat=True)) == {2}
    assert _brokers_found(alice, "010-1234-5678") == {str(broker.data_key_id)}
    assert _brokers_found(alice, "+86 138 0013 8000") == set()


def test_a_rotation_begun_before_the_staff_key_was_replaced_starts_over_with_a_fresh_key(
    org, records, alice, bob, dave
):
    with pytest.raises(Interrupted):
        index_key_rotate(supervisor=alice, password=PASSWORD, batch=1, progress=_interrupt)
    staff = IndexKeyCopy.objects.get(index_key_id=2).team_key
    team_key_rotate(ctx=org.ctx, actor=None, team_key=staff)  # someone left the all-staff key

    result = index_key_rotate(supervisor=alice, password=PASSWORD, batch=10, progress=None)

    assert not result.resumed and result.new_generation == 3
    assert _generations() == [(3, True)]
    copy = IndexKeyCopy.objects.get()
    assert copy.index_key_id == 3 and copy.team_key.active and copy.team_key != staff
    assert _found(bob, "Kim Sun-hui") == [records["kim"]]


def test_records_the_supervisor_cannot_open_are_left_to_the_next_search_of_someone_who_can(
    ctx, alice, bob
):
    case = _case(ctx, alice, "김선희", owner=bob)
    Grant.objects.filter(data_key_id=case.data_key_id).exclude(user=bob).delete()

    result = index_key_rotate(supervisor=alice, password=PASSWORD, batch=10, progress=None)

    assert result.unreadable == 1 and "could not be opened" in str(result)
    assert not SearchToken.objects.filter(data_key_id=case.data_key_id).exists()
    assert SearchIndexPending.objects.filter(data_key_id=case.data_key_id).exists()
    assert _found(bob, "Kim Sun-hui") == [case]
    assert set(SearchToken.objects.values_list("generation_id", flat=True)) == {2}


@pytest.mark.parametrize(
    ("who", "password", "error"),
    [
        ("bob", PASSWORD, PermissionDenied),
        ("dave", PASSWORD, PermissionDenied),
        ("erin", PASSWORD, PermissionDenied),
        ("alice", "wrong password", CryptoError),
        ("inactive", PASSWORD, PermissionDenied),
    ],
)
def test_a_rotation_by_anyone_but_a_supervisor_with_the_right_password_changes_nothing(
    request, records, alice, bob, dave, erin, who, password, error
):
    user = alice if who == "inactive" else request.getfixturevalue(who)
    if who == "inactive":
        alice.is_active = False
        alice.save()
    before = (_generations(), _tokens(), AuditEntry.objects.count())

    with pytest.raises(error):
        index_key_rotate(supervisor=user, password=password, batch=10, progress=None)

    assert (_generations(), _tokens(), AuditEntry.objects.count()) == before


def test_an_organisation_without_an_index_key_is_told_so(ctx, alice):
    SearchIndexKey.objects.all().delete()

    with pytest.raises(ValidationError, match="no search index key"):
        index_key_rotate(supervisor=alice, password=PASSWORD, batch=10, progress=None)
    assert not SearchIndexKey.objects.exists()


def test_the_command_rotates_the_index_key_and_reports_what_it_did(
    tmp_path, capsys, records, alice
):
    (tmp_path / "pw").write_text(PASSWORD)

    call_command(
        "keys", "rotate-index", "--supervisor", "alice", "--password-file", str(tmp_path / "pw")
    )

    out, err = capsys.readouterr()
    assert "generation 2 replaces generation 1" in out and "4 records" in out
    assert "re-indexing" in err and "4/4" in err
    assert _generations() == [(2, True)]
    assert _found(alice, "Kim Sun-hui") == [records["kim"]]


@pytest.mark.parametrize(
    ("who", "password", "message"),
    [
        ("bob", PASSWORD, "Only an active supervisor"),
        ("alice", "wrong password", "does not unlock the key"),
    ],
)
def test_the_command_refuses_clearly_and_changes_nothing(
    tmp_path, records, alice, bob, who, password, message
):
    (tmp_path / "pw").write_text(password)

    with pytest.raises(CommandError, match=message):
        call_command(
            "keys", "rotate-index", "--supervisor", who, "--password-file", str(tmp_path / "pw")
        )
    assert _generations() == [(1, True)]


def test_a_rotation_refreshes_the_planners_statistics_of_the_tokens_it_rewrote(
    records, alice, monkeypatch
):
    from haven.vault import index_rotation

    analyzed: list[type] = []
    monkeypatch.setattr(
        index_rotation, "statistics_refresh", lambda *, models: analyzed.extend(models)
    )

    index_key_rotate(supervisor=alice, password=PASSWORD)

    assert SearchToken in analyzed
