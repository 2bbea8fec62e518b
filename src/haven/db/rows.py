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

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.models import BinaryField, Model
from django.db.models.sql import InsertQuery


@dataclass(frozen=True)
class Inserts:
    """Compiled INSERT statements for :meth:`Rows.compile`'s database, ready to run."""

    using: str
    statements: tuple[tuple[str, tuple[Any, ...]], ...]
    objs: tuple[Model, ...]

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


class Rows:
    """Unsaved model instances, grouped by model in the order each model first appears."""

    def __init__(self) -> None:
        self._by_model: dict[type[Model], list[Model]] = {}

    def add(self, *objs: Model) -> None:
        """Add unsaved rows; a model's rows are inserted where that model first came."""
        for obj in objs:
            self._by_model.setdefault(type(obj), []).append(obj)

    def extend(self, objs: Iterable[Model]) -> None:
        """Add every row of ``objs`` (see :meth:`add`)."""
        self.add(*objs)

    def of(self, model: type[Model]) -> list[Model]:
        """The rows of ``model`` added so far, in the order added (to adjust them before
        :meth:`compile`: an import sets the state of cases :func:`request_people_build` made)."""
        return list(self._by_model.get(model, []))

    def __len__(self) -> int:
        return sum(len(objs) for objs in self._by_model.values())

    def compile(self, using: str | None = None) -> Inserts:
        """The INSERT statements for every row, made now (outside any transaction)."""
        statements: list[tuple[str, tuple[Any, ...]]] = []
        every: list[Model] = []
        alias = using
        for model, objs in self._by_model.items():
            alias = alias or router.db_for_write(model)
            statements += _insert_statements(model, objs, alias)
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
        # Table and column names from the model's own metadata, quoted; values are parameters.
        head = "INSERT INTO {} ({}) VALUES ".format(  # noqa: S608  # nosec B608
            connection.ops.quote_name(opts.db_table),
            ", ".join(connection.ops.quote_name(field.column) for field in fields),
        )
        row_sql = "({})".format(", ".join(["%s"] * len(fields)))
        for start in range(0, len(values), size):
            part = values[start : start + size]
            statements.append(
                (head + ", ".join([row_sql] * len(part)), tuple(v for row in part for v in row))
            )
    return statements


def _plain_values(fields: list[Any], objs: list[Model], connection: Any) -> list[list[Any]] | None:
    """Each row's values as Django's insert compiler would send them (``pre_save``, then
    ``get_db_prep_save``), or None when a field has a placeholder of its own or a value is an
    expression: those go through the compiler itself. The same statement, made without the
    compiler's per-value overhead, which was most of the time an import's chunk spent compiling
    (tests/db/test_rows.py compares the two)."""
    for field in fields:
        # BinaryField's placeholder is the backend's binary one: "%s" on SQLite and PostgreSQL.
        if hasattr(field, "get_placeholder") and not (
            isinstance(field, BinaryField) and connection.ops.binary_placeholder_sql(b"") == "%s"
        ):
            return None
    rows = []
    for obj in objs:
        row = []
        for field in fields:
            value = field.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                return None
            row.append(field.get_db_prep_save(value, connection=connection))
        rows.append(row)
    return rows
