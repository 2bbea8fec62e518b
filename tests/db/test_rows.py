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


def test_statements_added_with_then_run_after_the_inserts_and_fail_with_them():
    rows = Rows()
    rows.add(_token(1), _token(2))
    table = UsedFormToken._meta.db_table
    # Runs after the inserts (it sees their rows), in the same transaction.
    later = ("DELETE FROM " + table + " WHERE digest = %s", (_token(1).digest,))  # noqa: S608
    rows.compile().then([later]).run()
    assert list(UsedFormToken.objects.values_list("digest", flat=True)) == [_token(2).digest]
    # A failing statement after them takes the inserts back with it.
    rows = Rows()
    rows.add(_token(3))
    broken = ("INSERT INTO " + table + " (digest, used_at) VALUES (%s, %s)", (None, None))  # noqa: S608
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.compile().then([broken]).run()
    assert not UsedFormToken.objects.filter(digest=_token(3).digest).exists()


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


def _value(v: object) -> object:
    if isinstance(v, list):
        return [_value(x) for x in v]
    if isinstance(v, memoryview):
        return bytes(v)
    return getattr(v, "obj", v)  # psycopg's Binary(bytes)


def _table_rows(statements: list) -> list:
    """(INSERT head, rows) per statement, whether the rows are VALUES lists or UNNEST arrays."""
    out = []
    for sql, params in _same(statements):
        head = sql.split(") ", 1)[0]
        width = head.count(",") + 1
        if "UNNEST" in sql:
            rows = [list(row) for row in zip(*params, strict=True)]
        else:
            rows = [list(params[i : i + width]) for i in range(0, len(params), width)]
        out.append((head, rows))
    return out


def _same(statements: list) -> list:
    return [(sql, [_value(v) for v in params]) for sql, params in statements]


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
        assert _same(statements) == _same(expected)
    else:
        # Several rows go as UNNEST-ed arrays, one per column, as Django's compiler phrases
        # them, also for tables with a binary column (its placeholder is a plain %s here, but
        # Django's compiler then falls back to VALUES lists): the same tables, columns, rows.
        assert _table_rows(statements) == _table_rows(expected)
        assert ["UNNEST" in sql for sql, _ in statements] == [True, True, False]  # 3, 3, 1 rows
    with transaction.atomic():
        rows.compile().run()
    stored = Grant.objects.filter(data_key__in=keys).order_by("sealed")
    assert [bytes(g.sealed) for g in stored] == [bytes([n]) * 48 for n in range(3)]
    assert Request.objects.get(pk=request.pk).urgency == 2


def test_rows_given_as_values_make_the_statements_model_objects_make():
    # add_values skips a model object per row (an import's search and blocking tokens): the
    # statements must be those of the same rows added as objects, which are Django's (above).
    team_key = TeamKey.objects.create(kind="staff", public_key=b"p" * 32, created_at=NOW)
    ids = [uuid.uuid4() for _ in range(3)]
    as_objects, as_values = Rows(), Rows()
    as_objects.extend(
        Grant(data_key_id=k, team_key=team_key, sealed=bytes([n]) * 48, granted_at=NOW)
        for n, k in enumerate(ids)
    )
    as_values.add_values(
        Grant,
        ("data_key_id", "team_key_id", "sealed", "granted_at"),
        [(k, team_key.pk, bytes([n]) * 48, NOW) for n, k in enumerate(ids)],
    )
    for n in (1, 2):  # one row, and several (PostgreSQL: VALUES, then UNNEST)
        tokens = [UsedFormToken(digest=bytes([t]) * 32, used_at=NOW) for t in range(n)]
        as_objects.extend(tokens)
        as_values.add_values(
            UsedFormToken, ("digest", "used_at"), [(t.digest, t.used_at) for t in tokens]
        )
    assert _same(as_values.compile().statements) == _same(as_objects.compile().statements)
    assert len(as_values) == len(as_objects) == 6


def test_rows_given_as_values_get_defaults_and_are_stored():
    rows = Rows()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        rows.add_values(DataKey, ("recovery_sealed", "erasure_slot"), [(b"a", 1), (b"b", 2)])
        inserts = rows.compile()
    assert not inserts.objs
    with transaction.atomic():
        inserts.detached().run()
    stored = DataKey.objects.filter(erasure_slot__in=[1, 2]).order_by("erasure_slot")
    assert [bytes(k.recovery_sealed) for k in stored] == [b"a", b"b"]
    assert all(isinstance(k.pk, uuid.UUID) and k.created_at == NOW for k in stored)
    assert len({k.pk for k in stored}) == 2


def test_rows_given_as_values_refuse_an_unknown_field():
    rows = Rows()
    rows.add_values(UsedFormToken, ("digest", "nonsense"), [(b"x" * 32, 1)])
    with pytest.raises(ValueError, match="nonsense"):
        rows.compile()


def test_detached_statements_can_be_sent_to_another_process():
    import pickle

    rows = Rows()
    rows.add(DataKey(recovery_sealed=b"x"), _token(31), _token(32))
    detached = rows.compile().detached()
    again = pickle.loads(pickle.dumps(detached))  # noqa: S301 - our own bytes
    assert not again.objs and _same(again.statements) == _same(detached.statements)
    with transaction.atomic():
        again.run()
    assert UsedFormToken.objects.filter(digest=_token(32).digest).exists()


def test_each_columns_value_is_the_one_django_prepares():
    # rows._preparer computes Django's get_db_prep_save for plain values directly (a fifth of a
    # chunk's build time went there): for every column of the rows an import writes, and values
    # of every plain type, the same result or the same refusal.
    from haven.cases.models import Case, JourneyEvent, Person
    from haven.db.rows import _preparer
    from haven.dedupe.models import BlockToken, PersonEncoding
    from haven.vault.models import SearchToken

    samples = [None, "", "x", "접수", 0, 7, -3, 2**40, True, False, b"", b"ab", uuid.uuid4(), NOW]
    samples += [Channel.DIRECT_LINE, memoryview(b"cd")]
    models = [Request, Case, Person, JourneyEvent, DataKey, Grant, SearchToken, BlockToken]
    compared = 0
    for model in [*models, PersonEncoding, UsedFormToken]:
        for field in model._meta.concrete_fields:
            prep = _preparer(field, connection)
            for value in samples:
                try:
                    expected = field.get_db_prep_save(value, connection=connection)
                except Exception as exc:  # noqa: BLE001 - the same refusal is expected
                    with pytest.raises(type(exc)):
                        prep(value)
                    continue
                got = prep(value)
                assert type(got) is type(expected), (field, value)
                assert _value(got) == _value(expected), (field, value)
                compared += 1
    assert compared > 500
