"""Rows built before a transaction are turned into SQL with no database work, and written inside
it all together or not at all."""

from __future__ import annotations

import datetime as dt
import uuid
from unittest import mock

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


def _plain(params: tuple) -> tuple:
    return tuple(bytes(p) if isinstance(p, memoryview) else p for p in params)


def _flat(params: tuple) -> list:
    out: list = []
    for p in params:
        out += [_plain((v,))[0] for v in p] if isinstance(p, list) else [p]
    return out


def _django_statements(objs: list, using: str = "default") -> list[tuple[str, tuple]]:
    """What Django's own insert compiler makes of the same rows (bulk_create's statement)."""
    from django.db.models.sql import InsertQuery

    model = type(objs[0])
    opts = model._meta
    fields = [
        f
        for f in opts.concrete_fields
        if not f.generated and (objs[0].pk is not None or f is not opts.auto_field)
    ]
    query = InsertQuery(model)
    query.insert_values(fields, objs)
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = None
    return [(sql, tuple(params)) for sql, params in compiler.as_sql()]


def test_the_statements_are_the_ones_djangos_insert_compiler_makes():
    # Rows makes its INSERTs without Django's per-value compiler (an import's chunks spent most
    # of their compiling time there): the values sent must be exactly Django's, field by field
    # (UUIDs, datetimes, bytes, JSON, booleans, foreign keys, NULLs, auto_now_add).
    team_key = TeamKey.objects.create(kind="staff", public_key=b"p" * 32, created_at=NOW)
    keys = [DataKey(recovery_sealed=b"sealed", erasure_slot=n) for n in range(3)]
    grants = [
        Grant(data_key=keys[n], team_key=team_key, sealed=bytes([n]) * 48, granted_at=NOW)
        for n in range(3)
    ]
    key = keys[0]
    request = Request(data_key=key, channel=Channel.DIRECT_LINE, received_at=NOW, urgency=2)
    rows = Rows()
    rows.extend(keys)
    rows.extend(grants)
    rows.add(request)
    with mock.patch("django.utils.timezone.now", return_value=NOW):  # auto_now_add alike
        statements = [(sql, _plain(ps)) for sql, ps in rows.compile().statements]
        expected = [
            (sql, _plain(ps))
            for sql, ps in _django_statements(keys)
            + _django_statements(grants)
            + _django_statements([request])
        ]
    if connection.vendor == "sqlite":
        assert statements == expected
    else:  # PostgreSQL may phrase it as UNNEST(arrays): the same values, by column
        assert sorted(map(repr, (p for _, ps in statements for p in ps))) == sorted(
            map(repr, (p for _, ps in expected for p in _flat(ps)))
        )
    with transaction.atomic():
        rows.compile().run()
    stored = Grant.objects.filter(data_key__in=keys).order_by("sealed")
    assert [bytes(g.sealed) for g in stored] == [bytes([n]) * 48 for n in range(3)]
    assert Request.objects.get(pk=request.pk).urgency == 2
