"""The hash-chained audit trail: appends link up, and every kind of tampering is found and named."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time

import pytest
from django.db import connection, transaction

from haven.audit.chain import GENESIS, canonical_entry, format_at, hash_values
from haven.audit.context import AuditSessionMiddleware, audit_session, current_session
from haven.audit.models import AuditEntry, AuditHead
from haven.audit.selectors import (
    DELETED,
    EDITED,
    HEAD,
    INSERTED,
    REORDERED,
    SIGNATURE,
    TRUNCATED,
    audit_anchor,
    audit_anchor_check,
    audit_verify,
    parse_anchor,
)
from haven.audit.services import audit_record
from tests.audit.conftest import forge, hash_of, head, make_chain, rehash, shift_up, swap

# -- the chain ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_entries_are_numbered_linked_and_hashed(chain, alice):
    entries = list(AuditEntry.objects.order_by("seq"))

    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.entry_hash
    for entry in entries:
        assert entry.entry_hash == hash_of(entry)
        assert entry.actor_id == alice.pk
    assert (head().seq, head().entry_hash) == (6, entries[-1].entry_hash)
    result = audit_verify()
    assert result.ok and result.entries == 6 and result.problems == []


@pytest.mark.django_db
def test_the_hash_is_sha256_of_sorted_compact_json(alice, bob):
    entry = audit_record(
        actor=alice, action="case.update", target=bob, detail={"fields": ["b", "a"], "n": 2}
    )
    entry.refresh_from_db()
    expected = {
        "action": "case.update",
        "actor": str(alice.pk),
        "at": format_at(entry.at),
        "detail": {"fields": ["b", "a"], "n": 2},
        "prev": GENESIS,
        "seq": 1,
        "session": "",
        "target_id": str(bob.pk),
        "target_type": "accounts.user",
        "v": 1,
    }
    text = json.dumps(expected, sort_keys=True, separators=(",", ":"))

    assert (
        canonical_entry(
            seq=1,
            at=entry.at,
            actor_id=alice.pk,
            action="case.update",
            target_type="accounts.user",
            target_id=str(bob.pk),
            detail=entry.detail,
            session="",
            prev_hash=GENESIS,
        )
        == text
    )
    assert entry.entry_hash == hashlib.sha256(text.encode()).hexdigest()
    assert format_at(entry.at).endswith("Z") and len(format_at(entry.at)) == 27


@pytest.mark.parametrize(
    "detail", [{}, None, [], {"b": [1, 0.5, None, True], "a": {"z": '한국어 "q"'}}]
)
@pytest.mark.parametrize("actor_id", [None, 7])
def test_the_fast_hash_is_the_canonical_form(detail, actor_id):
    values = {
        "seq": 12,
        "at": dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=9))),
        "actor_id": actor_id,
        "action": "case.view",
        "target_type": "cases.case",
        "target_id": 'x"\\y',
        "detail": detail,
        "session": "s\u00e9",
        "prev_hash": "ab" * 32,
    }
    text = canonical_entry(**values)

    assert '"at":"2026-03-01T00:30:00.000000Z"' in text
    assert hash_values(*values.values()) == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.django_db
def test_session_reference_and_awkward_detail_values_survive_the_database(alice):
    audit_record(actor=alice, action="a", detail={"big": 1e16, "half": 0.5, "k": "한국어"})
    audit_record(actor=alice, action="b", session="s-3f9a", detail={"none": None, "t": True})
    audit_record(actor=None, action="c")

    assert AuditEntry.objects.get(seq=2).session == "s-3f9a"
    assert audit_verify().ok


@pytest.mark.django_db
def test_detail_must_hold_plain_values(alice):
    with pytest.raises(TypeError):
        audit_record(actor=alice, action="x", detail={"key": object()})
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_empty_chain_is_clean():
    result = audit_verify()
    assert result.ok and result.entries == 0


@pytest.mark.django_db
def test_verify_reads_in_chunks(alice):
    make_chain(alice, 25)
    seen: list[int] = []

    result = audit_verify(chunk_size=4, progress=seen.append)

    assert result.ok and result.entries == 25 and sum(seen) == 25


@pytest.mark.django_db
def test_entries_appended_during_the_walk_are_not_mistaken_for_tampering(alice):
    make_chain(alice, 10)
    appended: list[int] = []

    def progress(count: int) -> None:
        if not appended:
            appended.append(audit_record(actor=alice, action="during.verify").seq)

    result = audit_verify(chunk_size=3, progress=progress)

    assert result.ok, result.problems
    assert result.entries == 11 and appended == [11]


# -- tampering ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"detail": {"i": 99, "fields": ["summary"]}},
        {"action": "case.list"},
        {"actor": None},
        {"target_id": "7"},
        {"session": "other"},
        {"prev_hash": "f" * 64},
    ],
    ids=lambda change: next(iter(change)),
)
def test_an_edited_entry_is_named(chain, change):
    AuditEntry.objects.filter(seq=3).update(**change)

    result = audit_verify()

    assert result.kinds() == [(EDITED, 3)]
    assert "seq 3: edited" in result.problems[0].message


@pytest.mark.django_db
def test_an_edited_actor_is_named(bob, chain):
    AuditEntry.objects.filter(seq=4).update(actor=bob)
    assert audit_verify().kinds() == [(EDITED, 4)]


@pytest.mark.django_db
def test_an_edited_time_is_named(chain):
    entry = AuditEntry.objects.get(seq=2)
    AuditEntry.objects.filter(seq=2).update(at=entry.at.replace(microsecond=1))
    assert audit_verify().kinds() == [(EDITED, 2)]


@pytest.mark.django_db
def test_an_edited_and_rehashed_entry_is_named_by_the_broken_link(chain):
    rehash(3, action="case.list")

    result = audit_verify()

    assert result.kinds() == [(EDITED, 3)]
    assert "re-hashed" in result.problems[0].message


@pytest.mark.django_db
@pytest.mark.parametrize("seq", [1, 3])
def test_a_deleted_entry_is_named(chain, seq):
    AuditEntry.objects.filter(seq=seq).delete()

    result = audit_verify()

    assert result.kinds() == [(DELETED, seq)]
    assert f"seq {seq}: deleted" in result.problems[0].message


@pytest.mark.django_db
def test_deleted_stretch_is_named_as_a_range(chain):
    AuditEntry.objects.filter(seq__in=[2, 3, 4]).delete()

    result = audit_verify()

    assert result.kinds() == [(DELETED, 2)]
    assert result.problems[0].seq_end == 4
    assert result.problems[0].message.startswith("seq 2..4: deleted")


@pytest.mark.django_db
def test_a_deletion_hidden_by_renumbering_is_still_found(chain):
    AuditEntry.objects.filter(seq=3).delete()
    for seq in (4, 5, 6):
        AuditEntry.objects.filter(seq=seq).update(seq=seq - 1)

    result = audit_verify()

    assert (DELETED, 3) in result.kinds()
    assert (REORDERED, 3) in result.kinds()
    assert result.problems[-1].kind == TRUNCATED


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 2])
def test_a_truncated_tail_is_named(chain, count):
    AuditEntry.objects.filter(seq__gt=6 - count).delete()

    result = audit_verify()

    assert result.kinds() == [(TRUNCATED, 7 - count)]
    assert "deleted from the end" in result.problems[0].message


@pytest.mark.django_db
def test_an_entry_forged_after_the_head_is_named(chain):
    last = AuditEntry.objects.get(seq=6)
    forge(seq=7, prev_hash=last.entry_hash)

    result = audit_verify()

    assert result.kinds() == [(INSERTED, 7)]
    assert "inserted after the head" in result.problems[0].message


@pytest.mark.django_db
def test_an_entry_forged_into_the_middle_is_named(chain):
    shift_up(3)
    forge(seq=3, prev_hash=AuditEntry.objects.get(seq=2).entry_hash)

    result = audit_verify()

    assert result.kinds()[0] == (INSERTED, 3)
    assert "seq 3: inserted" in result.problems[0].message
    assert result.kinds()[1] == (REORDERED, 4)  # the entries that were moved up to make room
    assert result.problems[1].seq_end == 7
    assert (INSERTED, 7) in result.kinds()  # and the chain now runs past its head


@pytest.mark.django_db
def test_an_entry_forged_before_the_start_is_named(chain):
    forge(seq=0, prev_hash=GENESIS)

    assert audit_verify().kinds() == [(INSERTED, 0)]


@pytest.mark.django_db
@pytest.mark.parametrize(("a", "b"), [(2, 5), (3, 4), (1, 6)])
def test_reordered_entries_are_named(chain, a, b):
    swap(a, b)

    result = audit_verify()

    assert result.kinds() == [(REORDERED, a), (REORDERED, b)]
    assert f"seq {a}: reordered: this entry was written as seq {b}" in result.problems[0].message


@pytest.mark.django_db
def test_a_head_that_does_not_match_the_last_entry_is_named(chain):
    AuditHead.objects.update(entry_hash="a" * 64)
    assert audit_verify().kinds() == [(HEAD, 6), (SIGNATURE, 6)]


@pytest.mark.django_db
def test_a_missing_head_is_named(chain):
    AuditHead.objects.all().delete()
    assert audit_verify().kinds() == [(HEAD, 6)]


@pytest.mark.django_db
def test_every_problem_is_counted_and_the_first_hundred_listed(alice):
    make_chain(alice, 130)
    AuditEntry.objects.filter(seq__gt=10).update(action="forged")

    result = audit_verify()

    assert result.problem_count == 120
    assert len(result.problems) == 100 and result.unlisted == 20
    assert result.problems[0].seq == 11 and result.problems[-1].seq == 110


@pytest.mark.django_db
def test_several_kinds_at_once_are_all_reported(chain, alice):
    make_chain(alice, 4)  # seq 7..10
    AuditEntry.objects.filter(seq=2).update(action="x")
    AuditEntry.objects.filter(seq=5).delete()
    swap(7, 9)

    assert audit_verify().kinds() == [(EDITED, 2), (DELETED, 5), (REORDERED, 7), (REORDERED, 9)]


# -- transactions and concurrency ---------------------------------------------------------------


class Boom(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_action_leaves_no_entry_and_no_head_advance(alice):
    make_chain(alice, 2)
    before = (head().seq, head().entry_hash)

    with pytest.raises(Boom), transaction.atomic():
        audit_record(actor=alice, action="case.update", detail={"fields": ["summary"]})
        raise Boom

    assert AuditEntry.objects.count() == 2
    assert (head().seq, head().entry_hash) == before
    audit_record(actor=alice, action="case.update")
    assert AuditEntry.objects.get(seq=3).prev_hash == before[1]
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_an_entry_written_outside_a_transaction_is_chained(alice):
    assert connection.get_autocommit()
    audit_record(actor=alice, action="api.token")
    audit_record(actor=alice, action="api.token")
    assert audit_verify().ok and head().seq == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("own_transaction", [False, True], ids=["in-the-action", "on-their-own"])
def test_concurrent_appends_never_share_a_seq_or_a_link(alice, own_transaction):
    # Threads need a database they can share: the test settings use a file, never ":memory:".
    assert not str(connection.settings_dict["NAME"]).startswith(":memory")
    per_thread = 15
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def append(name: str) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                if own_transaction:  # as a page's read is audited
                    audit_record(actor=alice, action=f"thread.{name}", detail={"i": i})
                    continue
                with transaction.atomic():
                    audit_record(actor=alice, action=f"thread.{name}", detail={"i": i})
                    time.sleep(0.001)  # hold the head lock while the others wait for it
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 3 * per_thread + 1))
    result = audit_verify()
    assert result.ok, result.problems
    assert head().seq == 3 * per_thread


@pytest.mark.django_db
def test_the_returned_entry_is_the_row_stored(alice):
    make_chain(alice, 2)
    entry = audit_record(
        actor=alice, action="case.update", detail={"fields": ["summary"], "n": 3}, session="s1"
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    names = [f.attname for f in AuditEntry._meta.concrete_fields]
    assert [getattr(stored, n) for n in names] == [getattr(entry, n) for n in names]
    assert (stored.seq, stored.prev_hash) == (3, AuditEntry.objects.get(seq=2).entry_hash)
    assert (head().seq, head().entry_hash) == (3, stored.entry_hash)
    assert not entry._state.adding
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("own_transaction", [False, True])
def test_work_before_the_append_runs_in_every_writing_transaction(alice, own_transaction):
    from haven.audit import services

    called: list[bool] = []
    services.before_append.append(lambda: called.append(True))
    try:
        if own_transaction:
            audit_record(actor=alice, action="case.view")
        else:
            with transaction.atomic():
                audit_record(actor=alice, action="case.update")
    finally:
        services.before_append.pop()
    # An entry in a transaction of its own follows no write: on PostgreSQL, where the work
    # settles only what its own transaction wrote, it is not run; SQLite's settles what
    # autocommitted writes left too.
    skipped = own_transaction and connection.vendor == "postgresql"
    assert called == ([] if skipped else [True])
    assert audit_verify().ok


# -- anchors ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anchor_round_trip(chain):
    anchor = audit_anchor()

    assert (anchor.seq, anchor.entry_hash) == (6, chain[-1].entry_hash)
    assert parse_anchor(str(anchor)) == (6, chain[-1].entry_hash)
    make_chain(chain[0].actor, 3)
    check = audit_anchor_check(anchor.reference)
    assert check.ok and "head is now at seq 9" in check.message


@pytest.mark.django_db
def test_an_anchor_exposes_a_consistent_rewrite(chain):
    anchor = audit_anchor()
    # The forger edits seq 2 and re-hashes everything after it, the head included.
    rehash(2, action="case.list")
    for seq in range(3, 7):
        rehash(seq, prev_hash=AuditEntry.objects.get(seq=seq - 1).entry_hash)
    AuditHead.objects.update(entry_hash=AuditEntry.objects.get(seq=6).entry_hash)

    check = audit_anchor_check(anchor.reference)
    assert not check.ok and "rewritten" in check.message


@pytest.mark.django_db
def test_anchor_check_names_a_deleted_or_edited_entry(chain):
    anchor = audit_anchor()
    AuditEntry.objects.filter(seq=6).update(detail={"i": 0})
    assert "content was edited" in audit_anchor_check(anchor.reference).message
    AuditEntry.objects.filter(seq=6).delete()
    assert "no such entry" in audit_anchor_check(anchor.reference).message


@pytest.mark.django_db
def test_anchor_of_an_empty_chain():
    anchor = audit_anchor()
    assert (anchor.seq, anchor.entry_hash) == (0, GENESIS)
    assert audit_anchor_check(anchor.reference).ok


@pytest.mark.parametrize("text", ["", "12", "12:abc", "x:" + "0" * 64, "-1:" + "0" * 64])
def test_malformed_anchors_are_refused(text):
    with pytest.raises(ValueError, match="an anchor looks like"):
        parse_anchor(text)


# -- session reference --------------------------------------------------------------------------


@pytest.mark.django_db
def test_entries_carry_the_bound_session_reference(alice):
    with audit_session("ref-1"):
        first = audit_record(actor=alice, action="case.view")
        explicit = audit_record(actor=alice, action="case.view", session="ref-2")
    outside = audit_record(actor=alice, action="case.view")

    assert (first.session, explicit.session, outside.session) == ("ref-1", "ref-2", "")
    assert audit_verify().ok


@pytest.mark.django_db
def test_the_middleware_binds_a_random_reference_kept_in_the_session(alice, rf):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    seen: list[str] = []
    middleware = AuditSessionMiddleware(lambda request: seen.append(current_session()))
    request = rf.get("/")
    request.session = SessionStore()
    request.user = alice
    middleware(request)
    middleware(request)
    request.user = AnonymousUser()
    middleware(request)

    assert seen[0] and seen[0] == seen[1] and seen[2] == ""
    assert len(seen[0]) == 16 and seen[0] != request.session.session_key
    assert current_session() == ""


@pytest.mark.django_db
def test_a_lost_head_is_rebuilt_from_the_last_entry_instead_of_blocking_every_action(alice):
    from haven.audit.models import AuditEntry, AuditHead
    from haven.audit.services import audit_record

    for i in range(3):
        audit_record(actor=alice, action="test.step", detail={"i": i})
    AuditHead.objects.all().delete()

    entry = audit_record(actor=alice, action="test.after_loss")

    assert entry.seq == 4
    assert entry.prev_hash == AuditEntry.objects.get(seq=3).entry_hash
