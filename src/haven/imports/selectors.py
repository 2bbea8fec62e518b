"""Reads of imports: the list, a staged import's report, its bad rows, saved mappings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.cases.selectors import case_queryset
from haven.crypto import KeyContext, MissingKeyError
from haven.dedupe.scoring import primary_name
from haven.imports.models import ChunkKind, ImportBatch, ImportChunk, ImportMapping, ImportStage
from haven.vault.sealed import payload_read

ERRORS_PER_PAGE = 200
BAD_ROWS_HEADER = "오류 / errors"


def _require(user: User) -> None:
    if not access.allowed(user, "import.run"):
        raise PermissionDenied("Only supervisors import spreadsheets.")


def import_list(*, user: User) -> QuerySet[ImportBatch]:
    """Every import, newest first (counts and states only)."""
    _require(user)
    return ImportBatch.objects.select_related("created_by").order_by("-created_at")


def import_get(*, user: User, batch_id: Any) -> ImportBatch:
    _require(user)
    try:
        return ImportBatch.objects.select_related("created_by").get(pk=batch_id)
    except (ImportBatch.DoesNotExist, ValueError, TypeError):
        raise Http404("No such import.") from None
    except Exception:  # noqa: BLE001 - a malformed id is an unknown one
        raise Http404("No such import.") from None


@dataclass
class DuplicateRow:
    row: int
    other_row: int | None
    case_id: str | None
    other_name: str
    probability: float
    evidence: list[dict[str, Any]]


@dataclass
class Report:
    """A staged import as its pages show it."""

    batch: ImportBatch
    name: str = ""
    kind: str = ""
    encoding: str = ""
    sheet: str = ""
    headers: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    sample: list[list[Any]] = field(default_factory=list)
    errors: list[list[Any]] = field(default_factory=list)  # [row, column, reason]
    duplicates: list[DuplicateRow] = field(default_factory=list)
    duplicates_unavailable: str = ""
    staged: bool = False  # whether the stage is still there (else only counts)


def import_report(
    *, ctx: KeyContext, user: User, batch: ImportBatch, errors_limit: int = ERRORS_PER_PAGE
) -> Report:
    """The dry run's report: the mapping, the first rows as read, the errors (row, column,
    reason; the first ``errors_limit``), and possible duplicates with the names of stored
    people the user may open (that read is audited)."""
    _require(user)
    report = Report(batch=batch)
    stage = ImportStage.objects.filter(batch=batch).first()
    try:
        if stage is not None:
            summary = payload_read(ctx=ctx, record=stage)
            report.staged = True
            for name in ("name", "kind", "encoding", "sheet", "headers", "mapping", "options"):
                setattr(report, name, summary.get(name) or getattr(report, name))
            report.unmapped = summary.get("unmapped", [])
            report.sample = summary.get("sample", [])
            report.duplicates_unavailable = summary.get("duplicates_unavailable", "")
            report.duplicates = _duplicates(ctx, user, summary.get("duplicates", []))
        for chunk in ImportChunk.objects.filter(batch=batch, kind=ChunkKind.BAD).order_by("index"):
            for number, _cells, reasons in payload_read(ctx=ctx, record=chunk)["rows"]:
                report.errors += [[number, column, reason] for column, reason in reasons]
            if len(report.errors) >= errors_limit:
                break
    except MissingKeyError:
        raise PermissionDenied(
            "You hold no key for this import (ask the supervisor who staged it)."
        ) from None
    report.errors = report.errors[:errors_limit]
    return report


def _duplicates(ctx: KeyContext, user: User, pairs: list[dict[str, Any]]) -> list[DuplicateRow]:
    case_ids = [p["case"] for p in pairs if p.get("case")]
    visible = {
        str(case.pk): case
        for case in case_queryset(user=user)
        .filter(pk__in=case_ids)
        .select_related("person", "person__data_key")
    }
    out = []
    for pair in pairs:
        case_id = pair.get("case")
        if case_id and case_id not in visible:
            continue  # a case the viewer may not open is not there for them
        name = ""
        if case_id:
            try:
                name = primary_name(payload_read(ctx=ctx, record=visible[case_id].person))
            except MissingKeyError:
                continue
        out.append(
            DuplicateRow(
                row=pair["row"],
                other_row=pair.get("other_row"),
                case_id=case_id,
                other_name=name,
                probability=pair["probability"],
                evidence=pair.get("evidence", []),
            )
        )
    if visible:
        audit_record(actor=user, action="import.preview", detail={"cases": sorted(visible)})
    return out


@dataclass
class BadRows:
    headers: list[str]
    rows: list[list[Any]]  # [row number, *cells, errors]


def import_bad_rows(*, ctx: KeyContext, user: User, batch: ImportBatch) -> BadRows:
    """The rows that will not load, as they were in the file, with a last column saying why
    (for the bad-rows file: fix, then import that file). The read is audited."""
    _require(user)
    stage = ImportStage.objects.filter(batch=batch).first()
    headers: list[str] = []
    try:
        if stage is not None:
            headers = payload_read(ctx=ctx, record=stage).get("headers", [])
        rows = []
        for chunk in ImportChunk.objects.filter(batch=batch, kind=ChunkKind.BAD).order_by("index"):
            for number, cells, reasons in payload_read(ctx=ctx, record=chunk)["rows"]:
                why = "; ".join(
                    f"{column}: {reason}" if column else reason for column, reason in reasons
                )
                rows.append([number, *cells, why])
                headers = headers or [f"column {i + 1}" for i in range(len(cells))]
    except MissingKeyError:
        raise PermissionDenied("You hold no key for this import.") from None
    width = max([len(headers)] + [len(r) - 2 for r in rows])
    headers = headers + [""] * (width - len(headers))
    rows = [r[:1] + r[1:-1] + [""] * (width - (len(r) - 2)) + r[-1:] for r in rows]
    audit_record(actor=user, action="import.bad_rows", target=batch, detail={"rows": len(rows)})
    return BadRows(headers=["행 / row", *headers, BAD_ROWS_HEADER], rows=rows)


def mapping_list(*, ctx: KeyContext, user: User) -> list[tuple[ImportMapping, str]]:
    """Saved mappings the user can open, with their names."""
    _require(user)
    out = []
    for mapping in ImportMapping.objects.select_related("data_key"):
        try:
            out.append((mapping, str(payload_read(ctx=ctx, record=mapping).get("name", ""))))
        except MissingKeyError:
            continue
    return out


def mapping_get(*, user: User, mapping_id: Any) -> ImportMapping:
    _require(user)
    try:
        return ImportMapping.objects.get(pk=mapping_id)
    except Exception:  # noqa: BLE001 - unknown or malformed id
        raise Http404("No such mapping.") from None
