"""Counts of visible cases are remembered until a case or a grant is written, and never shared
between people who see different cases."""

from __future__ import annotations

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from haven.cases import selectors
from haven.cases.counts import counts_version, remembered_count
from haven.cases.journey import State
from haven.cases.models import CountsVersion
from haven.cases.services import case_revoke
from haven.vault.holders import team_key
from tests.factories import ctx_for, make_case


@pytest.fixture(autouse=True)
def _version_row(db) -> None:
    # A flushed test database (after a transactional test) has lost the migration's row.
    CountsVersion.objects.get_or_create(pk=CountsVersion.SINGLETON)


def test_writing_a_case_or_a_grant_raises_the_version(alice, bob) -> None:
    before = counts_version()
    case = make_case(ctx=ctx_for(alice), actor=alice, owner=bob)
    after_create = counts_version()
    assert after_create is not None and before is not None and after_create > before
    type(case).objects.filter(pk=case.pk).update(state=State.VERIFYING)
    after_state = counts_version()
    assert after_state is not None and after_state > after_create
    type(case).objects.filter(pk=case.pk).update(urgency=1)  # not something counts depend on
    assert counts_version() == after_state


def test_a_remembered_count_is_computed_once_until_something_is_written(alice, bob) -> None:
    calls = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert remembered_count(user=alice, what="x", compute=compute) == 1
    assert remembered_count(user=alice, what="x", compute=compute) == 1
    assert remembered_count(user=alice, what="y", compute=compute) == 2
    make_case(ctx=ctx_for(alice), actor=alice, owner=bob)
    assert remembered_count(user=alice, what="x", compute=compute) == 3


def test_the_dashboard_counts_follow_new_cases_and_revocations(alice, bob) -> None:
    # bob holds the case himself (owner) and through his team's key: both are taken away.
    assert selectors.dashboard(user=bob).by_state[State.RECEIVED] == 0
    case = make_case(ctx=ctx_for(alice), actor=alice, owner=bob)
    assert selectors.dashboard(user=bob).by_state[State.RECEIVED] == 1
    case_revoke(ctx=ctx_for(alice), actor=alice, case=case, holder=team_key(bob.team))
    case_revoke(ctx=ctx_for(alice), actor=alice, case=case, holder=bob)
    assert selectors.dashboard(user=bob).by_state[State.RECEIVED] == 0


def test_people_who_see_different_cases_never_share_a_count(alice, bob, carol) -> None:
    make_case(ctx=ctx_for(alice), actor=alice, owner=bob)
    assert selectors.dashboard(user=bob).by_state[State.RECEIVED] == 1
    assert selectors.dashboard(user=carol).by_state[State.RECEIVED] == 0


def test_without_the_version_row_counts_are_computed_every_time(alice, bob) -> None:
    CountsVersion.objects.all().delete()
    calls = []
    for _ in range(2):
        remembered_count(user=alice, what="x", compute=lambda: calls.append(1) or 0)
    assert len(calls) == 2


def test_the_case_list_count_follows_filters_and_writes(alice, bob) -> None:
    make_case(ctx=ctx_for(alice), actor=alice, owner=bob)
    all_cases = selectors.case_list(user=bob)
    assert selectors.case_list_count(user=bob, cases=all_cases, filters={}) == 1
    received = selectors.case_list(user=bob, state=State.RECEIVED)
    filters = {"state": State.RECEIVED}
    assert selectors.case_list_count(user=bob, cases=received, filters=filters) == 1
    verifying = selectors.case_list(user=bob, state=State.VERIFYING)
    assert (
        selectors.case_list_count(user=bob, cases=verifying, filters={"state": State.VERIFYING})
        == 0
    )
    make_case(ctx=ctx_for(alice), actor=alice, owner=bob)
    assert selectors.case_list_count(user=bob, cases=all_cases, filters={}) == 2


@pytest.mark.django_db(transaction=True)
def test_the_version_is_raised_by_a_committed_write_and_on_postgresql_only_at_commit(
    alice, bob
) -> None:
    # Transactional: the writes really commit. On PostgreSQL the version row is raised by
    # deferred triggers, so a long transaction does not hold it (and every other writer) until
    # it ends; on SQLite the write lock covers the whole transaction anyway.
    CountsVersion.objects.get_or_create(pk=CountsVersion.SINGLETON)
    before = counts_version()
    assert before is not None
    with transaction.atomic():
        make_case(ctx=ctx_for(alice), actor=alice, owner=bob)  # a case and several grants
        inside = counts_version()
        if connection.vendor == "postgresql":
            assert inside == before
            other = connections.create_connection(DEFAULT_DB_ALIAS)
            try:
                with other.cursor() as cursor:  # nobody would queue behind this transaction
                    cursor.execute("BEGIN")
                    cursor.execute(
                        "SELECT n FROM cases_countsversion WHERE id = 1 FOR UPDATE NOWAIT"
                    )
                    cursor.execute("ROLLBACK")
            finally:
                other.close()
        else:
            assert inside is not None and inside > before
    after = counts_version()
    assert after is not None and after > before
    if connection.vendor == "postgresql":
        assert after == before + 1  # once for the whole transaction, however many rows
