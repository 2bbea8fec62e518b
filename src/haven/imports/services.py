"""Importing people from a spreadsheet: stage (the dry run), commit, undo, discard, mappings.

1. :func:`import_stage` reads the file (in memory), checks every row under a column mapping, looks
   for possible duplicates, and keeps the outcome **sealed** (:mod:`haven.imports.models`): the
   rows that will load, the cells as read (so the mapping can be changed without the file), and
   the rows that will not with their reasons. The file itself is never written anywhere.
2. :func:`import_remap` checks the same cells again under another mapping.
3. :func:`import_commit` loads the rows: one chunk per transaction (each request's people,
   cases, first journey events, keys, search tokens and matching encodings built and sealed
   *before* its transaction, as the portal does, so the write lock is held only for the
   inserts), each chunk with its ledger rows and its audit entry. A crash leaves whole chunks;
   calling it again resumes. ``atomic=True`` loads everything in one transaction instead.
4. :func:`import_undo` destroys what the import created, request by request (as deleting a
   case does: every sealed copy of the keys), except cases someone has worked on since.

Supervisors only (``import.run``). Every step is audited (counts, never values).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.cases.journey import State
from haven.cases.models import (
    Case,
    Channel,
    JourneyEvent,
    Note,
    Person,
    Request,
    RequestStatus,
    Source,
)
from haven.cases.search import person_index_values
from haven.cases.services import (
    CHANNEL_SOURCE,
    case_shred,
    request_people_build,
    request_shred_if_empty,
)
from haven.crypto import KeyContext
from haven.db.rows import Rows
from haven.dedupe.store import person_encodings_build
from haven.errors import ConflictError
from haven.imports import columns as c
from haven.imports.builders import Built, built_chunks
from haven.imports.models import (
    ChunkKind,
    ImportBatch,
    ImportChunk,
    ImportLedger,
    ImportMapping,
    ImportStage,
    ImportStatus,
)
from haven.imports.preview import duplicates_preview
from haven.imports.reading import FileRefused, Table, read_table
from haven.imports.rows import Checked, check_rows
from haven.stats.services import case_facts_restate, statistics_key_checked
from haven.validation import clean_text
from haven.vault.holders import case_holders, system_key
from haven.vault.index import index_key_active, search_tokens_build
from haven.vault.models import DataKey, TeamKey, TeamKeyKind
from haven.vault.sealed import data_key_create, data_keys_build, payload_read, payload_set
from haven.vault.services import data_key_shred, team_key_ensure

CHUNK_ROWS = 500  # rows per sealed chunk, and per commit transaction
SAMPLE_ROWS = 5
IMPORTED_NOTE = "Imported from a spreadsheet: the state recorded there."

Progress = Callable[[int, int], None]


def _require(actor: User) -> None:
    if not access.allowed(actor, "import.run"):
        raise PermissionDenied("Only supervisors import spreadsheets.")


def _holders(actor: User) -> list[Any]:
    """Who a staged import is sealed to: whoever staged it and the supervisors (so that another
    supervisor can finish or undo it), besides the recovery key."""
    return [h for h in (actor, system_key(TeamKeyKind.SUPERVISORS)) if h is not None]


def _chunked(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _request_chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Valid rows in chunks of about :data:`CHUNK_ROWS`, never splitting a request."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    last_ref = None
    for row in rows:
        if len(current) >= CHUNK_ROWS and row["ref"] != last_ref:
            chunks.append(current)
            current = []
        current.append(row)
        last_ref = row["ref"]
    if current:
        chunks.append(current)
    return chunks


@dataclass
class Staged:
    """What a dry run found (also kept, sealed, with the batch)."""

    batch: ImportBatch
    checked: Checked
    duplicates: list[dict[str, Any]]
    duplicates_unavailable: str


def _refused(exc: FileRefused) -> ValidationError:
    return ValidationError({"file": str(exc)})


def _mapping_for(
    *,
    ctx: KeyContext,
    table: Table,
    mapping: dict[str, str] | None,
    saved: ImportMapping | None,
    options: c.Options | None,
) -> tuple[dict[str, str], c.Options]:
    if saved is not None:
        data = payload_read(ctx=ctx, record=saved)
        base = c.mapping_guess(table.headers)
        base.update({h: f for h, f in data.get("mapping", {}).items() if isinstance(h, str)})
        mapping = mapping or base
        options = options or c.Options.from_dict(data.get("options"))
    try:
        # Staged even when no column is a name yet: the report says so, every row is refused
        # for it, and the person chooses the columns on the page (or --map) and checks again.
        cleaned = c.mapping_clean(
            mapping if mapping is not None else c.mapping_guess(table.headers),
            table.headers,
            require_name=False,
        )
    except ValueError as exc:
        raise ValidationError({"mapping": str(exc)}) from exc
    return cleaned, options or c.Options()


def _check(
    *, ctx: KeyContext, actor: User, table: Table, mapping: dict[str, str], options: c.Options
) -> tuple[Checked, list[dict[str, Any]], str]:
    if options.default_country:
        from haven.validation import clean_country

        options.default_country = clean_country(options.default_country, field="default_country")
    checked = check_rows(table=table, mapping=mapping, options=options)
    preview = duplicates_preview(ctx=ctx, user=actor, rows=checked.valid)
    return checked, preview.pairs, preview.unavailable


def _bad_chunks(table: Table, checked: Checked) -> list[list[list[Any]]]:
    reasons: dict[int, list[list[str]]] = {}
    for error in checked.errors:
        reasons.setdefault(error.row, []).append([error.column, error.reason])
    bad = [[number, cells, reasons[number]] for number, cells in table.rows if number in reasons]
    return _chunked(bad, CHUNK_ROWS)


def _sealed_chunks(
    *,
    ctx: KeyContext,
    batch: ImportBatch,
    key: DataKey,
    kind: str,
    chunks: list[list[Any]],
    rows: Rows,
) -> None:
    for index, items in enumerate(chunks):
        chunk = ImportChunk(batch=batch, data_key=key, kind=kind, index=index, size=len(items))
        payload_set(ctx=ctx, record=chunk, data={"rows": items})
        rows.add(chunk)


def _stage_payload(
    *,
    name: str,
    table: Table,
    mapping: dict[str, str],
    options: c.Options,
    checked: Checked,
    duplicates: list[dict[str, Any]],
    unavailable: str,
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": table.kind,
        "encoding": table.encoding,
        "sheet": table.sheet,
        "headers": table.headers,
        "mapping": mapping,
        "options": options.as_dict(),
        "unmapped": checked.unmapped,
        "sample": [[n, cells] for n, cells in table.rows[:SAMPLE_ROWS]],
        "formulas": [list(f) for f in table.formulas],
        "duplicates": duplicates,
        "duplicates_unavailable": unavailable,
    }


def import_stage(
    *,
    ctx: KeyContext,
    actor: User,
    data: bytes,
    name: str = "",
    encoding: str = "",
    sheet: str = "",
    mapping: dict[str, str] | None = None,
    saved_mapping: ImportMapping | None = None,
    options: c.Options | None = None,
) -> Staged:
    """The dry run: read ``data`` (the whole file, in memory), check each row under ``mapping``
    (or a saved one, or one guessed from the headers), look for duplicates, and keep the outcome
    sealed. Nothing is loaded. Raises ValidationError (``file``, ``mapping``): nothing stored."""
    _require(actor)
    name = clean_text(name, field="name", max_length=255, multiline=False)
    try:
        table = read_table(data, encoding=encoding, sheet=sheet)
    except FileRefused as exc:
        raise _refused(exc) from None
    mapping, options = _mapping_for(
        ctx=ctx, table=table, mapping=mapping, saved=saved_mapping, options=options
    )
    checked, duplicates, unavailable = _check(
        ctx=ctx, actor=actor, table=table, mapping=mapping, options=options
    )
    # Everything is sealed and turned into SQL before the transaction opens, as the portal does:
    # on SQLite the transaction holds the one write lock, which the portal's intake also needs.
    rows = Rows()
    stage_key, bad_key = data_keys_build(
        ctx=ctx, holders=_holders(actor), granted_by=actor, count=2, rows=rows
    )
    batch = ImportBatch(
        created_by=actor, created_at=timezone.now(), stage_key=stage_key, bad_rows_key=bad_key
    )
    _counts(batch, table, checked, duplicates)
    rows.add(batch)
    stage = ImportStage(batch=batch, data_key=stage_key)
    payload_set(
        ctx=ctx,
        record=stage,
        data=_stage_payload(
            name=name,
            table=table,
            mapping=mapping,
            options=options,
            checked=checked,
            duplicates=duplicates,
            unavailable=unavailable,
        ),
    )
    rows.add(stage)
    _write_chunks(ctx=ctx, batch=batch, table=table, checked=checked, rows=rows)
    inserts = rows.compile()
    with transaction.atomic():
        inserts.run()
        audit_record(
            actor=actor,
            action="import.stage",
            target=batch,
            detail={
                "rows": batch.rows_total,
                "valid": batch.rows_valid,
                "invalid": batch.rows_invalid,
                "duplicates": batch.duplicates_flagged,
                "kind": table.kind,
            },
        )
    return Staged(batch, checked, duplicates, unavailable)


def _counts(
    batch: ImportBatch, table: Table, checked: Checked, duplicates: list[dict[str, Any]]
) -> None:
    batch.rows_total = len(table.rows)
    batch.rows_valid = len(checked.valid)
    batch.rows_invalid = len(checked.invalid_rows)
    batch.requests_valid = len({row["ref"] for row in checked.valid})
    batch.duplicates_flagged = len({p["row"] for p in duplicates})
    batch.chunks_total = len(_request_chunks(checked.valid))


def _write_chunks(
    *, ctx: KeyContext, batch: ImportBatch, table: Table, checked: Checked, rows: Rows
) -> None:
    if batch.stage_key is None or batch.bad_rows_key is None:
        raise RuntimeError("an import's chunks need its stage and bad-rows keys")
    _sealed_chunks(
        ctx=ctx,
        batch=batch,
        key=batch.stage_key,
        kind=ChunkKind.RAW,
        chunks=_chunked([[n, cells] for n, cells in table.rows], CHUNK_ROWS),
        rows=rows,
    )
    _sealed_chunks(
        ctx=ctx,
        batch=batch,
        key=batch.stage_key,
        kind=ChunkKind.ROWS,
        chunks=_request_chunks(checked.valid),
        rows=rows,
    )
    _sealed_chunks(
        ctx=ctx,
        batch=batch,
        key=batch.bad_rows_key,
        kind=ChunkKind.BAD,
        chunks=_bad_chunks(table, checked),
        rows=rows,
    )


def staged_table(*, ctx: KeyContext, batch: ImportBatch) -> tuple[Table, dict[str, Any]]:
    """The cells as read at staging, and the stage's summary (opens the stage key)."""
    stage = ImportStage.objects.get(batch=batch)
    summary = payload_read(ctx=ctx, record=stage)
    table = Table(
        kind=summary["kind"],
        headers=summary["headers"],
        rows=[],
        encoding=summary["encoding"],
        sheet=summary["sheet"],
    )
    for chunk in ImportChunk.objects.filter(batch=batch, kind=ChunkKind.RAW).order_by("index"):
        for number, cells in payload_read(ctx=ctx, record=chunk)["rows"]:
            table.rows.append((number, cells))
    table.formulas = [(int(f[0]), int(f[1])) for f in summary.get("formulas", [])]
    return table, summary


def _staged_for_change(batch: ImportBatch) -> ImportBatch:
    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.status != ImportStatus.STAGED or locked.stage_key_id is None:
        raise ValidationError(
            {"batch": "This import is no longer waiting to be checked: it was loaded or discarded."}
        )
    return locked


def import_remap(
    *,
    ctx: KeyContext,
    actor: User,
    batch: ImportBatch,
    expected_version: int,
    mapping: dict[str, str],
    options: c.Options,
) -> Staged:
    """Check the staged cells again under another mapping (no new upload): the rows that load,
    the bad rows and the duplicates are replaced. Only while nothing is loaded yet."""
    _require(actor)
    table, summary = staged_table(ctx=ctx, batch=batch)
    try:
        mapping = c.mapping_clean(mapping, table.headers)
    except ValueError as exc:
        raise ValidationError({"mapping": str(exc)}) from exc
    checked, duplicates, unavailable = _check(
        ctx=ctx, actor=actor, table=table, mapping=mapping, options=options
    )
    with transaction.atomic():
        locked = _staged_for_change(batch)
        if locked.version != expected_version:
            raise ConflictError(current_version=locked.version)
        ImportChunk.objects.filter(batch=locked).exclude(kind=ChunkKind.RAW).delete()
        old_bad = locked.bad_rows_key_id
        # The old bad rows' key goes: its ciphertext, wherever a copy survives, opens for nobody.
        locked.bad_rows_key = data_key_create(ctx=ctx, holders=_holders(actor), granted_by=actor)
        if old_bad is not None:
            data_key_shred(key_id=old_bad)
        _counts(locked, table, checked, duplicates)
        locked.version += 1
        locked.save()
        stage = ImportStage.objects.get(batch=locked)
        payload = _stage_payload(
            name=summary.get("name", ""),
            table=table,
            mapping=mapping,
            options=options,
            checked=checked,
            duplicates=duplicates,
            unavailable=unavailable,
        )
        stage.version += 1
        payload_set(ctx=ctx, record=stage, data=payload)
        stage.save()
        rows = Rows()
        if locked.stage_key is None or locked.bad_rows_key is None:
            raise RuntimeError("an import's chunks need its stage and bad-rows keys")
        _sealed_chunks(
            ctx=ctx,
            batch=locked,
            key=locked.stage_key,
            kind=ChunkKind.ROWS,
            chunks=_request_chunks(checked.valid),
            rows=rows,
        )
        _sealed_chunks(
            ctx=ctx,
            batch=locked,
            key=locked.bad_rows_key,
            kind=ChunkKind.BAD,
            chunks=_bad_chunks(table, checked),
            rows=rows,
        )
        rows.save()
        audit_record(
            actor=actor,
            action="import.remap",
            target=locked,
            detail={
                "valid": locked.rows_valid,
                "invalid": locked.rows_invalid,
                "duplicates": locked.duplicates_flagged,
            },
        )
    return Staged(locked, checked, duplicates, unavailable)


# --- Commit ------------------------------------------------------------------------------------


@dataclass
class CommitProgress:
    batch: ImportBatch
    chunks_done: int
    chunks_total: int

    @property
    def finished(self) -> bool:
        return self.batch.status == ImportStatus.COMMITTED


def _journey_event(
    *,
    ctx: KeyContext,
    case: Case,
    actor: User,
    row: dict[str, Any],
    when: dt.datetime,
) -> JourneyEvent:
    event = JourneyEvent(
        case=case,
        data_key=case.data_key,
        from_state=State.RECEIVED,
        to_state=row["state"],
        occurred_at=when,
        recorded_at=timezone.now(),
        recorded_by=actor,
        country=case.country,
        source=Source.STAFF,
        confidence=row["confidence"],
        case_version=case.version,
    )
    payload_set(
        ctx=ctx,
        record=event,
        data={"region": row["request"]["region"], "place": "", "note": IMPORTED_NOTE},
    )
    return event


def _build_request(
    *,
    ctx: KeyContext,
    actor: User,
    members: list[dict[str, Any]],
    owner: User | None,
    holders: list[Any],
    keys: list[DataKey],
    rows: Rows,
    now: dt.datetime,
    statistics_key: TeamKey | None,
) -> tuple[Request, list[tuple[Person, dict[str, Any]]]]:
    """One request of the import (all its people) under ``keys`` (the request's, the group's
    when several, then each person's), sealed and added to ``rows``; with its people."""
    fields = members[0]["request"]
    received = dt.datetime.fromisoformat(fields["received_at"]) if fields["received_at"] else now
    moved = any(m["state"] not in (State.RECEIVED, State.VERIFYING) for m in members)
    request = Request(
        data_key=keys.pop(0),
        channel=fields["channel"],
        received_at=received,
        urgency=fields["urgency"],
        people_count=len(members),
        created_by=actor,
        status=RequestStatus.TRIAGED if moved else RequestStatus.NEW,
        triaged_by=actor if moved else None,
        triaged_at=now if moved else None,
    )
    payload_set(
        ctx=ctx,
        record=request,
        data={
            "account": fields["account"],
            "contact": fields["contact"],
            "people_as_told": len(members),
            "region": fields["region"],
        },
    )
    rows.add(request)
    before_people, before_cases = len(rows.of(Person)), len(rows.of(Case))
    # Search tokens and matching encodings are built for the whole chunk at once (index_key
    # None here), which is several times faster than one person at a time.
    request_people_build(
        ctx=ctx,
        request=request,
        holders=holders,
        granted_by=actor,
        payloads=[m["person"] for m in members],
        own_words=[m["own_words"] for m in members],
        group_label=fields["group_label"],
        owner=owner,
        urgency=fields["urgency"],
        country=fields["country"],
        source=CHANNEL_SOURCE[Channel(fields["channel"])],
        received=received,
        region=fields["region"],
        data_keys=keys,
        index_key=None,
        rows=rows,
        statistics_key=statistics_key,
    )
    people = rows.of(Person)[before_people:]
    cases = rows.of(Case)[before_cases:]
    moves: dict[Any, list[tuple[str, str, dt.datetime]]] = {}
    for model_row, member in zip(cases, members, strict=True):
        case = cast(Case, model_row)
        if member["state"] == State.RECEIVED and not member["summary"]:
            continue  # sealed as request_people_build made it
        data = {"own_words": member["own_words"], "exact_place": "", "summary": member["summary"]}
        if member["state"] != State.RECEIVED:
            when = (
                dt.datetime.fromisoformat(member["state_date"])
                if member["state_date"]
                else received
            )
            when = max(when, received)
            case.version += 1
            case.state = member["state"]
            case.state_changed_at = when
            rows.add(_journey_event(ctx=ctx, case=case, actor=actor, row=member, when=when))
            moves[case.pk] = [(case.state, case.country, when)]
        payload_set(ctx=ctx, record=case, data=data)
    if moves:
        # The facts were sealed as "received"; count the state the spreadsheet gives.
        case_facts_restate(
            request=request,
            cases=cast(list[Case], cases),
            payloads=[m["person"] for m in members],
            events=moves,
            rows=rows,
            key=statistics_key,
        )
    return request, [
        (person, member["person"])  # type: ignore[misc]
        for person, member in zip(people, members, strict=True)
    ]


def _build_chunk(
    *, ctx: KeyContext, actor: User, batch: ImportBatch, chunk: ImportChunk, skipped: set[int]
) -> tuple[Rows, int, int]:
    """Every row of one chunk (but the skipped), sealed; with its ledger rows. Returns the rows,
    and how many requests and people they make."""
    members_by_ref: dict[str, list[dict[str, Any]]] = {}
    for row in payload_read(ctx=ctx, record=chunk)["rows"]:
        if row["row"] in skipped:
            continue
        members_by_ref.setdefault(row["ref"], []).append(row)
    requests = list(members_by_ref.values())
    owner_ids = {m[0]["request"]["owner"] for m in requests} - {None}
    owners = {u.pk: u for u in User.objects.filter(pk__in=owner_ids).select_related("team")}
    rows = Rows()
    now = timezone.now()
    # Every key of the chunk at once, per set of holders (one per owner): one look-up of the
    # holders' public keys instead of one per request.
    keys_by_owner: dict[Any, list[DataKey]] = {}
    holders_by_owner: dict[Any, list[Any]] = {}
    for owner_id in {m[0]["request"]["owner"] for m in requests}:
        owner = owners.get(owner_id)
        holders_by_owner[owner_id] = case_holders(
            actor=actor, owner=owner, team=owner.team if owner else None
        )
        count = sum(
            1 + len(m) + (len(m) > 1) for m in requests if m[0]["request"]["owner"] == owner_id
        )
        keys_by_owner[owner_id] = data_keys_build(
            ctx=ctx,
            holders=holders_by_owner[owner_id],
            granted_by=actor,
            count=count,
            rows=rows,
        )
    built = []
    people: list[tuple[Person, dict[str, Any]]] = []
    facts_key = statistics_key_checked()  # once per chunk, not once per request
    for members in requests:
        owner_id = members[0]["request"]["owner"]
        pool = keys_by_owner[owner_id]
        needed = 1 + len(members) + (len(members) > 1)
        keys, keys_by_owner[owner_id] = pool[:needed], pool[needed:]
        request, made = _build_request(
            ctx=ctx,
            actor=actor,
            members=members,
            owner=owners.get(owner_id),
            holders=holders_by_owner[owner_id],
            keys=keys,
            rows=rows,
            now=now,
            statistics_key=facts_key,
        )
        built.append((request, len(members)))
        people += made
    index_key = index_key_active()
    search_tokens_build(
        ctx=ctx,
        index_key=index_key,
        values_by_key={person.data_key_id: person_index_values(data) for person, data in people},
        rows=rows,
    )
    person_encodings_build(ctx=ctx, people=people, index_key=index_key, rows=rows)
    # Stamped after every record of the chunk was made: undo tells later work by this time.
    made_at = timezone.now()
    rows.extend(
        ImportLedger(batch=batch, request=request, chunk=chunk.index, people=n, created_at=made_at)
        for request, n in built
    )
    return rows, len(built), len(people)


def _ensure_team_keys(*, actor: User, batch: ImportBatch, ctx: KeyContext) -> None:
    """Each owner's casework team key exists before any chunk is sealed to it."""
    owner_ids: set[Any] = set()
    for chunk in ImportChunk.objects.filter(batch=batch, kind=ChunkKind.ROWS):
        owner_ids |= {
            row["request"]["owner"] for row in payload_read(ctx=ctx, record=chunk)["rows"]
        }
    owner_ids.discard(None)
    with transaction.atomic():
        for owner in User.objects.filter(pk__in=owner_ids).select_related("team"):
            team_key_ensure(actor=actor, team=owner.team)


def _commit_start(
    *, ctx: KeyContext, actor: User, batch: ImportBatch, skip_rows: Iterable[int]
) -> ImportBatch:
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status == ImportStatus.COMMITTING:
            return locked  # resuming: the rows skipped were chosen when it started
        if locked.status != ImportStatus.STAGED or locked.stage_key_id is None:
            raise ValidationError({"batch": "This import was already loaded, undone or discarded."})
        locked.status = ImportStatus.COMMITTING
        locked.skipped_rows = sorted({int(r) for r in skip_rows})
        locked.committed_at = timezone.now()
        locked.version += 1
        locked.save()
        audit_record(
            actor=actor,
            action="import.commit_start",
            target=locked,
            detail={"rows": locked.rows_valid, "skipped": len(locked.skipped_rows)},
        )
    _ensure_team_keys(actor=actor, batch=locked, ctx=ctx)
    return locked


def _chunk_build(
    *, ctx: KeyContext, actor: User, batch: ImportBatch, chunk: ImportChunk, skipped: set[int]
) -> Built:
    """One chunk's statements, made with no write (here, or in a builder process)."""
    rows, requests, people = _build_chunk(
        ctx=ctx, actor=actor, batch=batch, chunk=chunk, skipped=skipped
    )
    return Built(inserts=rows.compile().detached(), requests=requests, people=people)


# SQLite's page cache for the connection that writes a load, in KiB (its default is 2 MiB): the
# token, grant and key indexes of 100,000 people are far larger, and with the default every
# insert into them read its pages again from the operating system (a load slowed down as the
# database grew). Per connection, for the load only: set before each chunk (the connection is
# closed when builders are forked) and put back after.
SQLITE_LOAD_CACHE_KIB = 262_144


def _sqlite_cache(kib: int | None) -> int | None:
    """Set the writing connection's page cache (SQLite only); returns what it was."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():  # type: ignore[attr-defined]
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        if kib is not None:
            cursor.execute(f"PRAGMA cache_size = {-int(kib)}")
    return before


def _commit_chunk(*, actor: User, batch: ImportBatch, chunk: ImportChunk, built: Built) -> bool:
    """Write one built chunk in one transaction; False if someone else loaded it meanwhile."""
    _sqlite_cache(SQLITE_LOAD_CACHE_KIB)
    with transaction.atomic():
        locked = ImportChunk.objects.select_for_update().get(pk=chunk.pk)
        if locked.committed_at is not None:
            return False
        current = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if current.status != ImportStatus.COMMITTING:
            return False  # discarded or undone while we built
        built.inserts.run()
        ImportChunk.objects.filter(pk=chunk.pk).update(committed_at=timezone.now())
        ImportBatch.objects.filter(pk=batch.pk).update(
            requests_committed=F("requests_committed") + built.requests,
            people_committed=F("people_committed") + built.people,
        )
        audit_record(
            actor=actor,
            action="import.commit",
            target=batch,
            detail={"chunk": chunk.index, "requests": built.requests, "people": built.people},
        )
    return True


def _commit_finish(*, actor: User, batch: ImportBatch) -> ImportBatch:
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != ImportStatus.COMMITTING:
            return locked
        if ImportChunk.objects.filter(
            batch=locked, kind=ChunkKind.ROWS, committed_at__isnull=True
        ).exists():
            return locked
        _stage_shred(locked)
        locked.status = ImportStatus.COMMITTED
        locked.finished_at = timezone.now()
        locked.version += 1
        locked.save()
        audit_record(
            actor=actor,
            action="import.commit_finish",
            target=locked,
            detail={"requests": locked.requests_committed, "people": locked.people_committed},
        )
    return locked


def _stage_shred(batch: ImportBatch) -> None:
    """Destroy what was staged (the cells as read and the rows as checked): its key goes with
    every sealed copy. The bad rows stay, under their own key, until discarded or expired."""
    key_id = batch.stage_key_id
    ImportChunk.objects.filter(batch=batch).exclude(kind=ChunkKind.BAD).delete()
    ImportStage.objects.filter(batch=batch).delete()
    batch.stage_key = None
    batch.save(update_fields=["stage_key"])
    if key_id is not None:
        data_key_shred(key_id=key_id)


def import_commit(
    *,
    ctx: KeyContext,
    actor: User,
    batch: ImportBatch,
    skip_rows: Iterable[int] = (),
    atomic: bool = False,
    seconds: float | None = None,
    progress: Progress | None = None,
    workers: int = 1,
) -> CommitProgress:
    """Load a staged import, or go on loading one that was interrupted.

    Chunk by chunk, each in its own transaction with its ledger and audit entry (``seconds``:
    stop starting chunks after that long and return; call again to go on). With ``atomic``,
    every chunk in one transaction: all or nothing. ``skip_rows``: row numbers left out (taken
    when the load starts; a resumed load keeps them). When the last chunk is in, the staged
    rows are destroyed. ``workers`` > 1: chunks are built (sealed) in that many forked processes
    while this one writes them (:mod:`haven.imports.builders`; ``haven import`` takes
    ``HAVEN_IMPORT_WORKERS``); the same rows, ledger and audit entries. A chunk that cannot be
    built raises :class:`~haven.imports.builders.BuildError` after the chunks before it are in.
    """
    _require(actor)
    if atomic:
        with transaction.atomic():
            return _commit_all(
                ctx=ctx,
                actor=actor,
                batch=batch,
                skip_rows=skip_rows,
                seconds=None,
                progress=progress,
                workers=1,
            )
    return _commit_all(
        ctx=ctx,
        actor=actor,
        batch=batch,
        skip_rows=skip_rows,
        seconds=seconds,
        progress=progress,
        workers=workers,
    )


def _commit_all(
    *,
    ctx: KeyContext,
    actor: User,
    batch: ImportBatch,
    skip_rows: Iterable[int],
    seconds: float | None,
    progress: Progress | None,
    workers: int,
) -> CommitProgress:
    started = time.monotonic()
    batch = _commit_start(ctx=ctx, actor=actor, batch=batch, skip_rows=skip_rows)
    skipped = set(batch.skipped_rows)
    chunks = list(ImportChunk.objects.filter(batch=batch, kind=ChunkKind.ROWS).order_by("index"))
    total = len(chunks)
    done = sum(1 for chunk in chunks if chunk.committed_at is not None)
    if progress is not None:
        progress(done, total)
    waiting = [chunk for chunk in chunks if chunk.committed_at is None]
    loaded = 0

    def build(chunk: ImportChunk) -> Built:
        return _chunk_build(ctx=ctx, actor=actor, batch=batch, chunk=chunk, skipped=skipped)

    cache_before = None if connection.in_atomic_block else _sqlite_cache(None)
    stream = built_chunks(waiting, build, workers=workers)
    try:
        while True:
            if seconds is not None and loaded and time.monotonic() - started > seconds:
                break  # at least one chunk per call, so that every call moves on
            try:
                chunk, built = next(stream)
            except StopIteration:
                break
            loaded += 1
            _commit_chunk(actor=actor, batch=batch, chunk=chunk, built=built)
            done += 1
            if progress is not None:
                progress(done, total)
    finally:
        stream.close()  # stops the builders still at work (what they made is dropped)
        if cache_before is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(cache_before)}")
    batch = _commit_finish(actor=actor, batch=batch)
    batch.refresh_from_db()
    return CommitProgress(batch=batch, chunks_done=done, chunks_total=total)


# --- Undo, discard, expiry -----------------------------------------------------------------------


def _touched(request: Request, since: dt.datetime) -> bool:
    """Whether anyone worked on the request or its cases after the import made them: an edit,
    a journey step, a note, a consent or referral, a message, a file, a triage."""
    from haven.attachments.models import Attachment
    from haven.messaging.models import Message
    from haven.referrals.models import Consent, Referral

    cases = Case.objects.filter(request=request)
    if request.version > 1 or cases.filter(updated_at__gt=since).exists():
        return True
    if Person.objects.filter(case__in=cases, version__gt=1).exists():
        return True
    if JourneyEvent.objects.filter(case__in=cases, recorded_at__gt=since).exists():
        return True
    for model in (Note, Consent, Referral):
        if model.objects.filter(case__in=cases).exists():
            return True
    return (
        Message.objects.filter(request=request).exists()
        or Attachment.objects.filter(request=request).exists()
    )


@dataclass
class UndoResult:
    destroyed: int  # requests destroyed (with their cases)
    kept: int  # requests kept because someone worked on them since


def import_undo(*, actor: User, batch: ImportBatch, force: bool = False) -> UndoResult:
    """Destroy every request (and its people, cases, journey, keys) the import created, as
    deleting a case does; a request someone has worked on since is kept unless ``force``.
    An import still loading stops (what was staged is destroyed). One transaction per chunk."""
    _require(actor)
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status not in (
            ImportStatus.COMMITTING,
            ImportStatus.COMMITTED,
            ImportStatus.UNDONE,  # again: what was kept the first time (``force``)
        ):
            raise ValidationError({"batch": "Only an import that loaded rows can be undone."})
        if locked.stage_key_id is not None:
            _stage_shred(locked)
        locked.status = ImportStatus.UNDONE
        locked.version += 1
        locked.save()
    destroyed = kept = 0
    chunks = sorted(set(ImportLedger.objects.filter(batch=batch).values_list("chunk", flat=True)))
    for index in chunks:
        with transaction.atomic():
            part_destroyed = part_kept = 0
            for entry in ImportLedger.objects.filter(batch=batch, chunk=index).select_related(
                "request"
            ):
                request = entry.request
                if not force and _touched(request, entry.created_at):
                    part_kept += 1
                    continue
                for case in Case.objects.filter(request=request).select_for_update():
                    case_shred(case=case)
                request_shred_if_empty(request_id=request.pk)
                part_destroyed += 1
            ImportBatch.objects.filter(pk=batch.pk).update(
                requests_undone=F("requests_undone") + part_destroyed,
                requests_kept=F("requests_kept") + part_kept,
            )
            audit_record(
                actor=actor,
                action="import.undo",
                target=batch,
                detail={"chunk": index, "destroyed": part_destroyed, "kept": part_kept},
            )
        destroyed += part_destroyed
        kept += part_kept
    ImportBatch.objects.filter(pk=batch.pk).update(finished_at=timezone.now())
    return UndoResult(destroyed=destroyed, kept=kept)


def _discard(batch: ImportBatch) -> None:
    if batch.stage_key_id is not None:
        _stage_shred(batch)
    key_id = batch.bad_rows_key_id
    ImportChunk.objects.filter(batch=batch).delete()
    batch.bad_rows_key = None
    batch.save(update_fields=["bad_rows_key"])
    if key_id is not None:
        data_key_shred(key_id=key_id)


@transaction.atomic
def import_discard(*, actor: User, batch: ImportBatch) -> ImportBatch:
    """Destroy what an import keeps sealed (staged rows, bad rows). A staged import is then
    discarded; one that is loading stops where it is (its ledger stays, so it can be undone)."""
    _require(actor)
    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    _discard(locked)
    if locked.status in (ImportStatus.STAGED, ImportStatus.COMMITTING):
        locked.status = (
            ImportStatus.DISCARDED
            if locked.status == ImportStatus.STAGED
            else ImportStatus.COMMITTED
        )
        locked.finished_at = timezone.now()
    locked.version += 1
    locked.save()
    audit_record(actor=actor, action="import.discard", target=locked, detail={})
    return locked


@transaction.atomic
def imports_expire(*, now: dt.datetime | None = None) -> int:
    """``haven purge``: destroy the sealed rows of imports older than
    ``HAVEN_IMPORT_STAGE_HOURS`` (a staged import is discarded; one left half-loaded keeps its
    ledger and can still be undone). Returns how many imports it cleared."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=int(settings.HAVEN_IMPORT_STAGE_HOURS))
    old = (
        ImportBatch.objects.select_for_update()
        .filter(created_at__lt=cutoff)
        .exclude(stage_key__isnull=True, bad_rows_key__isnull=True)
    )
    count = 0
    for batch in old:
        _discard(batch)
        if batch.status == ImportStatus.STAGED:
            batch.status = ImportStatus.DISCARDED
            batch.finished_at = now
        batch.save()
        audit_record(actor=None, action="import.expire", target=batch, detail={})
        count += 1
    return count


# --- Saved mappings ------------------------------------------------------------------------------


@transaction.atomic
def import_mapping_save(
    *, ctx: KeyContext, actor: User, name: str, mapping: dict[str, str], options: c.Options
) -> ImportMapping:
    """Save a column mapping for the next import of the same kind of sheet (sealed to the
    supervisors' key: its headers and defaults may say whose list it was)."""
    _require(actor)
    name = clean_text(name, field="mapping_name", max_length=100, required=True, multiline=False)
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and v in ("", *c.FIELDS) for k, v in mapping.items()
    ):
        raise ValidationError({"mapping": "A mapping names a known field for each column."})
    now = timezone.now()
    saved = ImportMapping(
        data_key=data_key_create(ctx=ctx, holders=_holders(actor), granted_by=actor),
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    payload_set(
        ctx=ctx,
        record=saved,
        data={"name": name, "mapping": mapping, "options": options.as_dict()},
    )
    saved.save(force_insert=True)
    audit_record(actor=actor, action="import.mapping_save", target=saved, detail={})
    return saved


@transaction.atomic
def import_mapping_delete(*, actor: User, mapping: ImportMapping) -> None:
    """Delete a saved mapping and destroy its key."""
    _require(actor)
    key_id = mapping.data_key_id
    mapping_id = str(mapping.pk)
    mapping.delete()
    data_key_shred(key_id=key_id)
    audit_record(actor=actor, action="import.mapping_delete", detail={"mapping": mapping_id})
