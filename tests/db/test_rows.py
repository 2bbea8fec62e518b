"""Rows built before a transaction are turned into SQL with no database work, and written inside
it all together or not at all."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from haven.cases.models import Channel, Request
from haven.db.rows import Rows
from haven.portal.models import UsedFormToken
from haven.vault.models import DataKey, Grant, TeamKey

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def _token(n: int) -> UsedFormToken:
    return UsedFormToken(digest=n.to_bytes(32, "big"), used_at=NOW)


def test_compiling_sends_nothing_to_the_database_and_running_writes_every_row_in_order():
    team_key = TeamKey.objects.create(kind="staff", public_key=b"p" * 32, created_at=NOW)
    rows = Rows()
    key = DataKey(recovery_sealed=b"sealed")
    rows.add(key)
    rows.add(Grant(data_key=key, team_key=team_key, sealed=b"g", granted_at=NOW))
    rows.add(_token(1))
    with CaptureQueriesContext(connection) as compiling:
        inserts = rows.compile()
    assert compiling.captured_queries == []
    assert len(rows) == 3 and len(inserts.statements) == 3
    with transaction.atomic(), CaptureQueriesContext(connection) as running:
        inserts.run()
    assert [q["sql"].split()[2] for q in running.captured_queries if "INSERT" in q["sql"]] == [
        '"vault_datakey"',
        '"vault_grant"',
        '"portal_usedformtoken"',
    ]
    stored = DataKey.objects.get(pk=key.pk)
    assert bytes(stored.recovery_sealed) == b"sealed"
    # auto_now_add is filled in as bulk_create would, at compile time.
    assert stored.created_at is not None and stored.created_at <= timezone.now()
    assert Grant.objects.get(data_key=key).team_key_id == team_key.pk
    assert not key._state.adding


def test_a_uuid_primary_key_gets_its_default_before_the_sql_is_made():
    rows = Rows()
    request = Request(
        data_key=DataKey(recovery_sealed=b"x"), channel=Channel.DIRECT_LINE, received_at=NOW
    )
    request.pk = None
    rows.add(request.data_key, request)
    rows.save()
    assert isinstance(request.pk, uuid.UUID)
    assert Request.objects.filter(pk=request.pk, data_key_id=request.data_key_id).exists()


def test_one_failing_row_leaves_nothing_of_the_others():
    _token(7).save()
    rows = Rows()
    key = DataKey(recovery_sealed=b"x")
    rows.add(key, _token(8), _token(7))  # the last one was used already
    inserts = rows.compile()
    with pytest.raises(IntegrityError), transaction.atomic():
        inserts.run()
    assert not DataKey.objects.filter(pk=key.pk).exists()
    assert UsedFormToken.objects.filter(digest=_token(8).digest).count() == 0
    assert UsedFormToken.objects.count() == 1


def test_a_row_pointing_at_an_unsaved_one_is_refused_before_any_sql():
    unsaved = DataKey(recovery_sealed=b"x")
    unsaved.pk = None
    rows = Rows()
    rows.add(Grant(data_key=unsaved, sealed=b"g", granted_at=NOW))
    with CaptureQueriesContext(connection) as queries, pytest.raises(ValueError, match="unsaved"):
        rows.compile()
    assert queries.captured_queries == []


def test_more_rows_than_one_statement_takes_are_split_and_all_stored():
    tokens = [_token(n) for n in range(20_000)]
    fields = [f for f in UsedFormToken._meta.concrete_fields if not f.primary_key]
    per_statement = connection.ops.bulk_batch_size(fields, tokens)
    rows = Rows()
    rows.extend(tokens)
    inserts = rows.compile()
    assert len(inserts.statements) == -(-len(tokens) // per_statement)
    with transaction.atomic():
        inserts.run()
    assert UsedFormToken.objects.count() == 20_000


def test_no_rows_make_no_statements():
    inserts = Rows().compile()
    assert inserts.statements == ()
    inserts.run()


@pytest.mark.django_db(transaction=True)
def test_run_outside_a_transaction_writes_all_the_rows_or_none():
    assert not connection.in_atomic_block
    rows = Rows()
    key = DataKey(recovery_sealed=b"x")
    rows.add(key, _token(21), _token(21))  # the second token row repeats the first
    inserts = rows.compile()
    with pytest.raises(IntegrityError):
        inserts.run()
    assert not DataKey.objects.filter(pk=key.pk).exists()
    assert not UsedFormToken.objects.filter(digest=_token(21).digest).exists()
