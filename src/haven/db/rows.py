"""New rows gathered before a transaction and written inside it, in as few statements as can be.

On SQLite every write transaction holds the database's one write lock from its first statement to
its commit, so whatever runs inside it runs one request at a time. The portal's intake builds a
request's dozen rows (sealing keys and payloads, which costs processor time) and turns them into
SQL *before* it opens the transaction; inside, only the finished statements run::

    rows = Rows()
    rows.add(UsedFormToken(...))
    data_keys_build(..., rows=rows)        # DataKey and Grant rows, sealed
    inserts = rows.compile()               # the INSERT statements, no database work yet
    with transaction.atomic():
        inserts.run()

The statements are what ``QuerySet.bulk_create`` would send (Django's own insert compiler, so
field conversion, defaults and ``auto_now`` are the same), one per model in the order first added,
without asking the database for generated ids: a row that needs its id read back is not a row for
this. No signal is sent (Haven connects none to these models). It leans on Django's internals
(``InsertQuery``, ``_prepare_related_fields_for_save``) as ``bulk_create`` does, and, unlike it,
does not handle ``db_default`` (no Haven model uses it): check both on a Django upgrade
(tests/db/test_rows.py).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.models import (
    NOT_PROVIDED,
    BigIntegerField,
    BinaryField,
    BooleanField,
    CharField,
    DateTimeField,
    IntegerField,
    Model,
    PositiveBigIntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    SmallIntegerField,
    TextField,
    UUIDField,
)
from django.db.models.sql import InsertQuery
from django.utils import timezone


@dataclass(frozen=True)
class Inserts:
    """Compiled INSERT statements for :meth:`Rows.compile`'s database, ready to run."""

    using: str
    statements: tuple[tuple[str, tuple[Any, ...]], ...]
    objs: tuple[Model, ...]

    def detached(self) -> Inserts:
        """The same statements without the model objects they came from: plain values (bytes,
        text, numbers, ids, times) that can be sent to another process (an import's builders
        make a chunk's statements in a worker and the main process runs them)."""
        return Inserts(
            using=self.using,
            statements=tuple(
                (sql, tuple(_sendable(p) for p in params)) for sql, params in self.statements
            ),
            objs=(),
        )

    def then(self, statements: Iterable[tuple[str, tuple[Any, ...]]]) -> Inserts:
        """These inserts followed by other statements (the portal's counter upserts), run
        together: on PostgreSQL in the same pipeline."""
        return Inserts(using=self.using, statements=(*self.statements, *statements), objs=self.objs)

    def run(self) -> None:
        """Run the statements in order inside the caller's transaction (or one of their own:
        all of them or none), then mark the rows as saved."""
        connection = connections[self.using]
        with transaction.atomic(using=self.using, savepoint=False), connection.cursor() as cursor:
            if connection.vendor == "postgresql" and len(self.statements) > 1 and _pipelines():
                # Sent together, answered together (psycopg's pipeline mode): one round trip
                # instead of one per statement. An error surfaces when the pipeline syncs, as
                # the same Django exception a lone statement raises.
                with connection.wrap_database_errors, connection.connection.pipeline():
                    for sql, params in self.statements:
                        cursor.execute(sql, params)
            else:
                for sql, params in self.statements:
                    cursor.execute(sql, params)
        for obj in self.objs:
            obj._state.adding = False
            obj._state.db = self.using


def _sendable(value: Any) -> Any:
    # A binary value is the driver's Binary: a memoryview (SQLite), which cannot be pickled, or
    # psycopg's wrapper. Its bytes are the same parameter (a BLOB, a bytea) to both drivers.
    if isinstance(value, list):  # a column of an UNNEST
        return [_sendable(v) for v in value]
    if isinstance(value, memoryview):
        return bytes(value)
    if type(value).__name__ == "Binary" and isinstance(getattr(value, "obj", None), bytes):
        return value.obj
    return value


class Rows:
    """Unsaved model instances, grouped by model in the order each model first appears; and rows
    given as plain values (:meth:`add_values`), which make the same statements without a model
    object per row."""

    def __init__(self) -> None:
        self._by_model: dict[type[Model], list[Model]] = {}
        self._values: dict[type[Model], dict[tuple[str, ...], list[tuple[Any, ...]]]] = {}

    def add(self, *objs: Model) -> None:
        """Add unsaved rows; a model's rows are inserted where that model first came."""
        for obj in objs:
            self._by_model.setdefault(type(obj), []).append(obj)

    def add_values(
        self, model: type[Model], fields: tuple[str, ...], values: Iterable[tuple[Any, ...]]
    ) -> None:
        """Add rows of ``model`` as values of ``fields`` (attribute names: ``data_key_id`` for a
        foreign key), in that order. The other fields get their defaults (a new UUID for a UUID
        primary key, the time for ``auto_now``) when compiled, as :meth:`add` would: the same
        INSERT statements, without building a model object per row, which was most of the time
        an import spent on its many small rows (search and blocking tokens). No object is marked
        saved: the caller keeps none."""
        self._by_model.setdefault(model, [])
        self._values.setdefault(model, {}).setdefault(tuple(fields), []).extend(values)

    def extend(self, objs: Iterable[Model]) -> None:
        """Add every row of ``objs`` (see :meth:`add`)."""
        self.add(*objs)

    def of(self, model: type[Model]) -> list[Model]:
        """The rows of ``model`` added so far, in the order added (to adjust them before
        :meth:`compile`: an import sets the state of cases :func:`request_people_build` made)."""
        return list(self._by_model.get(model, []))

    def __len__(self) -> int:
        return sum(len(objs) for objs in self._by_model.values()) + sum(
            len(rows) for groups in self._values.values() for rows in groups.values()
        )

    def compile(self, using: str | None = None) -> Inserts:
        """The INSERT statements for every row, made now (outside any transaction)."""
        statements: list[tuple[str, tuple[Any, ...]]] = []
        every: list[Model] = []
        alias = using
        for model, objs in self._by_model.items():
            alias = alias or router.db_for_write(model)
            if objs:
                statements += _insert_statements(model, objs, alias)
            for fields, values in self._values.get(model, {}).items():
                statements += _value_statements(model, fields, values, alias)
            every += objs
        return Inserts(using=alias or "default", statements=tuple(statements), objs=tuple(every))

    def save(self, using: str | None = None) -> None:
        """Compile and run at once (inside the caller's transaction)."""
        self.compile(using).run()


def _pipelines() -> bool:
    # Pipeline mode needs libpq 14 or later (psycopg's binary wheels bring their own).
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def _insert_statements(
    model: type[Model], objs: list[Model], using: str
) -> list[tuple[str, tuple[Any, ...]]]:
    opts = model._meta
    for obj in objs:
        # What bulk_create does first: copy related objects' ids onto the foreign key columns
        # (refusing an unsaved one) and give the primary key its default (a new UUID).
        obj._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
        if obj.pk is None and opts.pk is not opts.auto_field:
            obj.pk = opts.pk.get_pk_value_on_save(obj)  # type: ignore[attr-defined]
    with_pk = [obj for obj in objs if obj.pk is not None]
    without_pk = [obj for obj in objs if obj.pk is None]
    connection = connections[using]
    statements = []
    for group, keep_auto in ((with_pk, True), (without_pk, False)):
        if not group:
            continue
        fields = [
            field
            for field in opts.concrete_fields
            if not field.generated and (keep_auto or field is not opts.auto_field)
        ]
        size = max(1, connection.ops.bulk_batch_size(fields, group))
        values = _plain_values(fields, group, connection)
        if values is None:  # a field or value that needs Django's own compiler
            for start in range(0, len(group), size):
                query = InsertQuery(model)
                query.insert_values(fields, group[start : start + size])
                compiler = query.get_compiler(using=using)
                compiler.returning_fields = None
                statements += [(sql, tuple(params)) for sql, params in compiler.as_sql()]
            continue
        statements += _plain_statements(model, fields, values, size, connection)
    return statements


def _plain_statements(
    model: type[Model], fields: list[Any], values: list[Any], size: int, connection: Any
) -> list[tuple[str, tuple[Any, ...]]]:
    # Table and column names from the model's own metadata, quoted; values are parameters.
    head = "INSERT INTO {} ({}) VALUES ".format(  # noqa: S608  # nosec B608
        connection.ops.quote_name(model._meta.db_table),
        ", ".join(connection.ops.quote_name(field.column) for field in fields),
    )
    if connection.vendor == "postgresql" and len(values) > 1:
        # What Django's compiler sends PostgreSQL for several rows: one array per column,
        # UNNEST-ed. A statement of a few placeholders whatever the rows: psycopg parses the
        # placeholders of each statement it is given (in Python, and caches only short ones),
        # which for a chunk's VALUES lists of thousands took more time than the server did.
        db_types = [field.db_type(connection).split("(")[0] for field in fields]
        # With server-side binding (Haven's default), the arrays go in psycopg's binary format
        # ("%b"): its text format escapes every element in Python, twenty times slower, which
        # was again most of a chunk's time. Client-side binding takes text only.
        mark = (
            "%b" if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding") else "%s"
        )
        # Column types from the model's own fields, as Django's compiler writes them.
        unnest = "SELECT * FROM UNNEST({})".format(  # noqa: S608  # nosec B608
            ", ".join(f"({mark})::{db_type}[]" for db_type in db_types)
        )
        columns = tuple(list(c) for c in zip(*values, strict=True))
        return [(head.removesuffix("VALUES ") + unnest, columns)]
    row_sql = "({})".format(", ".join(["%s"] * len(fields)))
    statements = []
    for start in range(0, len(values), size):
        part = values[start : start + size]
        statements.append(
            (head + ", ".join([row_sql] * len(part)), tuple(v for row in part for v in row))
        )
    return statements


def _value_statements(
    model: type[Model], names: tuple[str, ...], values: list[tuple[Any, ...]], using: str
) -> list[tuple[str, tuple[Any, ...]]]:
    """What :func:`_insert_statements` makes for model objects holding ``values``: every
    concrete field in the model's order (the auto-increment id left to the database), each value
    through ``get_db_prep_save`` as Django's compiler sends it."""
    if not values:
        return []
    opts = model._meta
    connection = connections[using]
    given = {name: i for i, name in enumerate(names)}
    fields = [f for f in opts.concrete_fields if not f.generated and f is not opts.auto_field]
    if "id" in given and opts.auto_field is not None:
        raise ValueError("rows given as values leave an auto-increment id to the database")
    plan: list[tuple[int | None, Any]] = []
    for field in fields:
        if _own_placeholder(field, connection):
            raise ValueError(f"{field.name} needs Django's own compiler: add model objects")
        index = given.get(field.attname, given.get(field.name))
        if index is None and field.db_default is not NOT_PROVIDED:
            raise ValueError(f"{field.name} has a database default: add model objects")
        plan.append((index, field))
    unknown = set(given) - {f.attname for f in fields} - {f.name for f in fields}
    if unknown:
        raise ValueError(f"not fields of {opts.label}: {sorted(unknown)}")
    rows: list[list[Any]] = []
    now = None
    preps = [_preparer(field, connection) for _index, field in plan]
    for row in values:
        out = []
        for (index, field), prep in zip(plan, preps, strict=True):
            if index is not None:
                value = row[index]
            elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                now = now or timezone.now()
                value = now
            else:
                value = field.get_default()
            out.append(prep(value))
        rows.append(out)
    size = max(1, connection.ops.bulk_batch_size(fields, rows))
    return _plain_statements(model, fields, rows, size, connection)


def _plain_values(fields: list[Any], objs: list[Model], connection: Any) -> list[list[Any]] | None:
    """Each row's values as Django's insert compiler would send them (``pre_save``, then
    ``get_db_prep_save``), or None when a field has a placeholder of its own or a value is an
    expression: those go through the compiler itself. The same statement, made without the
    compiler's per-value overhead, which was most of the time an import's chunk spent compiling
    (tests/db/test_rows.py compares the two)."""
    for field in fields:
        if _own_placeholder(field, connection):
            return None
    rows = []
    pairs = [(field, _preparer(field, connection)) for field in fields]
    for obj in objs:
        row = []
        for field, prep in pairs:
            value = field.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                return None
            row.append(prep(value))
        rows.append(row)
    return rows


_TEXT_FIELDS = (CharField, TextField)
_INTEGER_FIELDS = (
    IntegerField,
    BigIntegerField,
    SmallIntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    PositiveBigIntegerField,
)


def _preparer(field: Any, connection: Any) -> Callable[[Any], Any]:
    """``field.get_db_prep_save(value)`` for one column, with Django's own result computed
    directly for the plain values that fill most columns (a UUID, bytes, text, an integer, a
    boolean, NULL) of Django's own field classes, and Django's method for anything else. Half a
    million calls per import chunk made it a fifth of the time a chunk took to build;
    tests/db/test_rows.py compares the statements with Django's compiler's."""
    slow = functools.partial(field.get_db_prep_save, connection=connection)
    target = field.target_field if field.is_relation and field.many_to_one else field
    kind = type(target)
    if field.is_relation and not field.many_to_one:
        return slow
    if kind is UUIDField:
        native = connection.features.has_native_uuid_field

        def prep_uuid(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is uuid.UUID:
                return value if native else value.hex
            return slow(value)

        return prep_uuid
    if kind is BinaryField and not field.is_relation:
        binary = connection.Database.Binary

        def prep_binary(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is bytes:
                return binary(value)
            return slow(value)

        return prep_binary
    if kind in _TEXT_FIELDS and not field.is_relation and not field.null:

        def prep_text(value: Any) -> Any:
            return value if type(value) is str else slow(value)

        return prep_text
    if kind in _INTEGER_FIELDS:
        adapt = connection.ops.adapt_integerfield_value
        internal = target.get_internal_type()

        def prep_integer(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is int:
                return adapt(value, internal)
            return slow(value)

        return prep_integer
    if kind is DateTimeField and not field.is_relation:
        # The rows of a chunk share a few times (every grant is stamped with one ``now``):
        # the last one converted is kept, by identity (a datetime never changes).
        last: list[Any] = [object(), None]

        def prep_datetime(value: Any) -> Any:
            if value is last[0]:
                return last[1]
            prepared = slow(value)
            last[:] = [value, prepared]
            return prepared

        return prep_datetime
    if kind is BooleanField and not field.is_relation:

        def prep_bool(value: Any) -> Any:
            return value if type(value) is bool or value is None else slow(value)

        return prep_bool
    return slow


def _own_placeholder(field: Any, connection: Any) -> bool:
    """Whether a field's values need a placeholder other than ``%s`` (Django's compiler then
    makes the statement). BinaryField's is the backend's binary one: "%s" on SQLite and
    PostgreSQL."""
    return hasattr(field, "get_placeholder") and not (
        isinstance(field, BinaryField) and connection.ops.binary_placeholder_sql(b"") == "%s"
    )
