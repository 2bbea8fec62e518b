"""`haven import FILE --supervisor NAME`: import people from a CSV or XLSX file.

Without ``--commit`` it is a dry run: the file is read (in memory), every row checked, possible
duplicates looked for, and a report printed; nothing is loaded, and what was read is kept sealed
for ``--resume``/the web page until it is loaded, discarded or expires. With ``--commit`` the rows
that passed are then loaded with a progress bar (one transaction per chunk; ``--all-or-nothing``
for one transaction). ``--resume ID`` goes on with an interrupted load (or loads a dry run);
``--undo ID`` destroys what an import loaded; ``--discard ID`` destroys what it keeps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.dedupe.management.commands.dedupe import _stream, supervisor_context
from haven.demo.management.progress import ProgressBar
from haven.exports.tables import table_bytes
from haven.imports import columns as c
from haven.imports import selectors, services
from haven.imports.builders import BuildError
from haven.imports.dates import DATE_ORDERS
from haven.imports.models import ImportBatch, ImportStatus
from haven.imports.reading import ENCODINGS

MAX_SHOWN = 20


def _messages(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        return " ".join(m for ms in exc.message_dict.values() for m in ms)
    return " ".join(getattr(exc, "messages", [str(exc)]))


def _rows(value: str) -> list[int]:
    try:
        return [int(part) for part in value.replace(" ", "").split(",") if part]
    except ValueError:
        raise CommandError(
            f"--skip-rows takes row numbers separated by commas, not {value!r}."
        ) from None


class Command(BaseCommand):
    help = "Import people from a CSV or XLSX file: a dry run first, then --commit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", type=Path, help="the CSV or XLSX file")
        parser.add_argument("--supervisor", help="the supervisor who imports (their keys)")
        parser.add_argument("--password-file", type=Path, help="their password (else asked)")
        parser.add_argument("--mapping", help="a saved column mapping, by name")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help=f"map a column (repeatable; FIELD empty leaves it out): {', '.join(c.FIELDS)}",
        )
        parser.add_argument(
            "--date-order",
            choices=DATE_ORDERS,
            help="05/03/1990 is day first (dmy, the default) or month first (mdy)",
        )
        parser.add_argument(
            "--country", default="", help="country (ISO code) for rows that name none"
        )
        parser.add_argument(
            "--encoding", choices=ENCODINGS, default="", help="the CSV's encoding (default: detect)"
        )
        parser.add_argument(
            "--sheet", default="", help="the XLSX sheet to read (default: the first)"
        )
        parser.add_argument(
            "--save-mapping", metavar="NAME", help="save the mapping used under this name"
        )
        parser.add_argument(
            "--bad-rows",
            type=Path,
            metavar="OUT",
            help="write the rows that will not load, with why, to OUT (.csv or .xlsx)",
        )
        parser.add_argument("--commit", action="store_true", help="load the rows that passed")
        parser.add_argument(
            "--skip-duplicates",
            action="store_true",
            help="leave out rows flagged as possible duplicates",
        )
        parser.add_argument("--skip-rows", default="", help="row numbers to leave out (3,7,12)")
        parser.add_argument("--all-or-nothing", action="store_true", help="load in one transaction")
        parser.add_argument(
            "--resume", metavar="ID", help="load (or go on loading) a staged import"
        )
        parser.add_argument("--undo", metavar="ID", help="destroy what an import loaded")
        parser.add_argument(
            "--force", action="store_true", help="with --undo: also cases worked on since"
        )
        parser.add_argument("--discard", metavar="ID", help="destroy what an import keeps sealed")
        parser.add_argument("--list", action="store_true", help="list imports")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            self._list()
            return
        if not options["supervisor"]:
            raise CommandError("--supervisor NAME is required (the keys are theirs).")
        user, ctx = supervisor_context(options["supervisor"], options["password_file"])
        try:
            if options["undo"]:
                self._undo(user, options)
            elif options["discard"]:
                batch = self._batch(options["discard"])
                services.import_discard(actor=user, batch=batch)
                self.stdout.write(f"Import {batch.pk}: what it kept is destroyed.")
            elif options["resume"]:
                batch = self._batch(options["resume"])
                self._commit(ctx, user, batch, options, skip=_rows(options["skip_rows"]))
            else:
                self._stage(ctx, user, options)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(f"{_messages(exc)} Nothing was changed.") from exc
        finally:
            ctx.forget()

    def _list(self) -> None:
        for batch in ImportBatch.objects.order_by("-created_at")[:50]:
            self.stdout.write(
                f"{batch.pk}  {batch.created_at:%Y-%m-%d %H:%M}  {batch.get_status_display():<20} "
                f"{batch.rows_valid}/{batch.rows_total} rows pass, "
                f"{batch.people_committed} people loaded, {batch.requests_undone} requests undone"
            )

    def _batch(self, value: str) -> ImportBatch:
        try:
            return ImportBatch.objects.get(pk=value)
        except Exception:  # noqa: BLE001 - an unknown or malformed id
            raise CommandError(f"No import {value!r} (see haven import --list).") from None

    def _mapping(
        self, ctx: Any, user: Any, options: dict[str, Any]
    ) -> tuple[Any, dict[str, str] | None]:
        saved = None
        if options["mapping"]:
            for mapping, name in selectors.mapping_list(ctx=ctx, user=user):
                if name.casefold() == options["mapping"].strip().casefold():
                    saved = mapping
                    break
            else:
                raise CommandError(f"No saved mapping called {options['mapping']!r}.")
        explicit = None
        if options["map"]:
            explicit = {}
            for item in options["map"]:
                header, sep, field = item.partition("=")
                if not sep:
                    raise CommandError(f"--map takes HEADER=FIELD, not {item!r}.")
                explicit[header.strip()] = field.strip()
        return saved, explicit

    def _stage(self, ctx: Any, user: Any, options: dict[str, Any]) -> None:
        path: Path | None = options["file"]
        if path is None:
            raise CommandError("Name the file to import (or --resume, --undo, --discard, --list).")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        saved, explicit = self._mapping(ctx, user, options)
        import_options = None
        if options["date_order"] or options["country"] or not saved:
            import_options = c.Options(
                date_order=options["date_order"] or "dmy",
                default_country=options["country"].strip().upper(),
            )
        mapping = explicit
        if explicit is not None:
            # Explicit columns on top of the guess (or the saved mapping): name only what differs.
            from haven.imports.reading import read_table

            guessed = c.mapping_guess(
                read_table(data, encoding=options["encoding"], sheet=options["sheet"]).headers
            )
            mapping = {**guessed, **explicit}
        staged = services.import_stage(
            ctx=ctx,
            actor=user,
            data=data,
            name=path.name,
            encoding=options["encoding"],
            sheet=options["sheet"],
            mapping=mapping,
            saved_mapping=saved if explicit is None else None,
            options=import_options,
        )
        del data
        self._report(ctx, user, staged)
        if options["save_mapping"]:
            report = selectors.import_report(ctx=ctx, user=user, batch=staged.batch, errors_limit=0)
            services.import_mapping_save(
                ctx=ctx,
                actor=user,
                name=options["save_mapping"],
                mapping=report.mapping,
                options=c.Options.from_dict(report.options),
            )
            self.stdout.write(f"Mapping saved as {options['save_mapping']!r}.")
        if options["bad_rows"] and staged.batch.rows_invalid:
            self._bad_rows(ctx, user, staged.batch, options["bad_rows"])
        if options["commit"]:
            skip = _rows(options["skip_rows"])
            if options["skip_duplicates"]:
                skip += [p["row"] for p in staged.duplicates]
            self._commit(ctx, user, staged.batch, options, skip=skip)
        else:
            self.stdout.write(
                f"Dry run only: nothing loaded. Load it with: haven import --resume {staged.batch.pk} "
                f"--supervisor {user.username}"
            )

    def _report(self, ctx: Any, user: Any, staged: services.Staged) -> None:
        batch = staged.batch
        report = selectors.import_report(ctx=ctx, user=user, batch=batch, errors_limit=MAX_SHOWN)
        self.stdout.write(
            f"Import {batch.pk}: {report.kind.upper()}"
            + (f" ({report.encoding})" if report.encoding else "")
            + (f", sheet {report.sheet!r}" if report.sheet else "")
        )
        self.stdout.write("Columns:")
        for header, field in report.mapping.items():
            self.stdout.write(f"  {header!r:<30} -> {field or '(not imported)'}")
        self.stdout.write(
            f"{batch.rows_valid} of {batch.rows_total} rows will load "
            f"({batch.requests_valid} requests); {batch.rows_invalid} will not."
        )
        for row, column, reason in report.errors:
            self.stdout.write(f"  row {row}, {column or 'row'}: {reason}")
        if batch.rows_invalid and len(report.errors) >= MAX_SHOWN:
            self.stdout.write("  ... (all of them in the bad-rows file: --bad-rows OUT)")
        if report.duplicates_unavailable:
            self.stdout.write(f"Duplicates: {report.duplicates_unavailable}")
        elif report.duplicates:
            self.stdout.write(f"{batch.duplicates_flagged} rows may be people already known:")
            for pair in report.duplicates[:MAX_SHOWN]:
                other = (
                    f"row {pair.other_row}"
                    if pair.other_row
                    else f"case {pair.case_id} ({pair.other_name})"
                )
                self.stdout.write(f"  row {pair.row} ~ {other}: {pair.probability:.0%}")
        else:
            self.stdout.write("No possible duplicates found.")

    def _bad_rows(self, ctx: Any, user: Any, batch: ImportBatch, path: Path) -> None:
        bad = selectors.import_bad_rows(ctx=ctx, user=user, batch=batch)
        fmt = "xlsx" if path.suffix.lower() == ".xlsx" else "csv"
        content, _type = table_bytes(fmt, bad.headers, bad.rows, sheet="errors")
        # The operator's own file, holding what they gave us: readable by them only.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        self.stdout.write(
            f"The {len(bad.rows)} rows that will not load are in {path}: fix them there and "
            "import that file. It holds what the sheet held: keep it like the sheet, and delete it after."
        )

    def _commit(
        self, ctx: Any, user: Any, batch: ImportBatch, options: dict[str, Any], *, skip: list[int]
    ) -> None:
        try:
            done = services.import_commit(
                ctx=ctx,
                actor=user,
                batch=batch,
                skip_rows=skip,
                atomic=options["all_or_nothing"],
                progress=ProgressBar("loading chunks", stream=_stream(self.stderr)),
                workers=settings.HAVEN_IMPORT_WORKERS,
            )
        except BuildError as exc:
            raise CommandError(f"{exc} (import {batch.pk}: --resume {batch.pk})") from None
        if done.batch.status != ImportStatus.COMMITTED:
            raise CommandError(f"The load stopped; go on with --resume {batch.pk}.")
        self.stdout.write(
            f"Loaded {done.batch.people_committed} people in {done.batch.requests_committed} "
            f"requests (import {batch.pk}); undo with --undo {batch.pk}."
        )

    def _undo(self, user: Any, options: dict[str, Any]) -> None:
        batch = self._batch(options["undo"])
        result = services.import_undo(actor=user, batch=batch, force=options["force"])
        self.stdout.write(
            f"Import {batch.pk} undone: {result.destroyed} requests destroyed with their cases"
            + (
                f"; {result.kept} kept because someone worked on them since (--force takes them too)"
                if result.kept
                else ""
            )
            + "."
        )
