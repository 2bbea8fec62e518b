"""Reading a spreadsheet someone gives us, from bytes in memory, without trusting any of it.

A file is told apart by its content, never its name: a zip with a workbook is XLSX, an OLE2
compound file is the old binary ``.xls`` (refused: save it as XLSX or CSV), anything else must be
text (CSV). What comes back is a :class:`Table`: the header row, then every non-empty row with its
number in the file, each cell as text (dates from XLSX as ISO dates), and where formulas were.

Each refusal is a :class:`FileRefused` with a message that says what to do; nothing has been
stored when it is raised (reading stores nothing):

* **size**: over ``HAVEN_IMPORT_MAX_BYTES``; more rows than ``HAVEN_IMPORT_MAX_ROWS`` (counted while
  reading, so a million-row file costs no more than the limit); more than :data:`MAX_COLUMNS`
  columns; a cell longer than :data:`MAX_CELL_CHARS`.
* **zip bombs**: the sizes the zip declares are added up before anything is decompressed (a zip
  member never inflates past its declared size: :mod:`zipfile` stops there and checks the CRC),
  against :data:`MAX_UNPACKED_BYTES` and a ratio of :data:`MAX_RATIO` per member.
* **XML bombs**: every XML part is scanned for a document type declaration (``<!DOCTYPE``,
  ``<!ENTITY``), which no spreadsheet needs and every entity-expansion attack does; openpyxl also
  parses through defusedxml.
* **merged cells**: refused with the first merged range (a merged cell belongs to several rows:
  which one it describes is a guess we do not make).
* **encodings**: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else
  CP949/EUC-KR and a few others by charset-normalizer's judgement; a file that is none of them
  cleanly (mixed encodings, binary) is refused. The operator may name the encoding instead.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

MAX_COLUMNS = 200
MAX_CELL_CHARS = 20_000
MAX_UNPACKED_BYTES = 400_000_000
MAX_RATIO = 1_000  # real sheets compress 5-50 times; a bomb thousands of times
MAX_ZIP_MEMBERS = 5_000
ENCODINGS = ("utf-8", "cp949", "euc-kr", "utf-16", "gb18030", "big5", "shift_jis", "cp1252")
# charset-normalizer's names for what we accept from its guess.
_GUESSES = ("utf_8", "cp949", "euc_kr", "gb18030", "big5", "shift_jis", "cp1252")
_CHAOS_LIMIT = 0.2
_SNIFF_BYTES = 64_000
_SCAN_CHUNK = 1 << 20


class FileRefused(ValueError):
    """The file cannot be imported as it is; the message says why and what to do."""


@dataclass
class Table:
    """A sheet as read: headers, then rows (number in the file, cells as text)."""

    kind: str  # "csv" or "xlsx"
    headers: list[str]
    rows: list[tuple[int, list[str]]]
    encoding: str = ""
    sheet: str = ""
    # (row number, column index) of every formula met; the cell's text is left empty.
    formulas: list[tuple[int, int]] = field(default_factory=list)


def _limits() -> tuple[int, int]:
    return int(settings.HAVEN_IMPORT_MAX_BYTES), int(settings.HAVEN_IMPORT_MAX_ROWS)


def read_table(data: bytes, *, encoding: str = "", sheet: str = "") -> Table:
    """Read ``data`` (a whole CSV or XLSX file, in memory) into a :class:`Table`.

    ``encoding`` forces a CSV's encoding (one of :data:`ENCODINGS`; empty: detect). ``sheet``
    picks an XLSX sheet by name (empty: the first). Raises :class:`FileRefused`.
    """
    max_bytes, _ = _limits()
    if not data:
        raise FileRefused("The file is empty.")
    if len(data) > max_bytes:
        raise FileRefused(
            f"The file is {len(data) / 1e6:.1f} MB; at most {max_bytes / 1e6:.0f} MB can be "
            "imported at once. Split it into several files."
        )
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, sheet=sheet)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileRefused(
            "This is an old Excel file (.xls). Open it in a spreadsheet program and save it as "
            "Excel Workbook (.xlsx) or CSV UTF-8, then import that."
        )
    if data[:5] == b"%PDF-" or data[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1"):
        raise FileRefused("This is not a spreadsheet. Import a CSV or XLSX file.")
    return _read_csv(data, encoding=encoding)


# --- CSV ---------------------------------------------------------------------------------------


def decode_text(data: bytes, *, encoding: str = "") -> tuple[str, str]:
    """The file's text and the encoding it was read in. Raises :class:`FileRefused`."""
    if encoding:
        if encoding not in ENCODINGS:
            raise FileRefused(
                f"Unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}."
            )
        try:
            text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
        except UnicodeDecodeError as exc:
            raise FileRefused(
                f"The file is not valid {encoding} text (byte {exc.start + 1:,} does not fit). "
                "Choose another encoding, or let Haven detect it."
            ) from None
        return text, encoding
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8", "UTF-8 (with a BOM)"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", "UTF-16"), "utf-16"
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise FileRefused(
            "The file holds binary data, not text: import a CSV or XLSX file as saved by a "
            "spreadsheet program."
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(_GUESSES)).best()
    if best is not None and best.encoding in _GUESSES and best.chaos <= _CHAOS_LIMIT:
        try:
            return data.decode(best.encoding), best.encoding.replace("_", "-")
        except UnicodeDecodeError:
            pass
    raise FileRefused(
        "Haven cannot tell how this file's text is encoded: it is neither UTF-8 nor CP949/EUC-KR "
        "throughout (parts may be in different encodings). Save it again as “CSV UTF-8” and "
        "import that, or choose the encoding yourself."
    )


def _strict(data: bytes, codec: str, label: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise FileRefused(
            f"The file starts as {label} but byte {exc.start + 1:,} is not {label}: parts of it "
            "are in another encoding. Save it again as “CSV UTF-8” and import that."
        ) from None


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _read_csv(data: bytes, *, encoding: str) -> Table:
    text, used = decode_text(data, encoding=encoding)
    _, max_rows = _limits()
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text[:_SNIFF_BYTES]))
    csv.field_size_limit(MAX_CELL_CHARS * 4 + 16)
    table = Table(kind="csv", headers=[], rows=[], encoding=used)
    try:
        for number, cells in enumerate(reader, start=1):
            cells = [cell.strip() for cell in cells]
            formulas = [i for i, cell in enumerate(cells) if cell.startswith("=")]
            _take(table, number, cells, max_rows, formulas)
    except csv.Error as exc:
        raise FileRefused(
            f"The CSV cannot be read near line {reader.line_num:,} ({exc}). Check for a cell "
            "that opens a quotation mark and never closes it."
        ) from None
    return _finished(table)


def _take(table: Table, number: int, cells: list[str], max_rows: int, formulas: list[int]) -> None:
    """Add one row (the first non-empty one is the header row). ``formulas``: the columns that
    held a formula, whose text is dropped and which the row's check reports."""
    if not any(cells) and not formulas:
        return
    if len(cells) > MAX_COLUMNS:
        raise FileRefused(
            f"Row {number:,} has {len(cells):,} columns; at most {MAX_COLUMNS} can be imported."
        )
    for index, cell in enumerate(cells):
        if len(cell) > MAX_CELL_CHARS:
            raise FileRefused(
                f"Row {number:,}, column {index + 1} holds {len(cell):,} characters; at most "
                f"{MAX_CELL_CHARS:,} fit in one cell."
            )
    if not table.headers:
        table.headers = _headers(cells, number)
        return
    if len(table.rows) >= max_rows:
        raise FileRefused(
            f"The file has more than {max_rows:,} rows; import at most {max_rows:,} at once "
            "(split it into several files)."
        )
    for index in formulas:
        table.formulas.append((number, index))
        if index < len(cells):
            cells[index] = ""
    table.rows.append((number, cells))


def _headers(cells: list[str], number: int) -> list[str]:
    headers = [" ".join(cell.split()) for cell in cells]
    while headers and not headers[-1]:
        headers.pop()
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        if not header:
            continue
        key = header.casefold()
        if key in seen:
            raise FileRefused(
                f"Two columns of the header row (row {number}) are both called “{header}” "
                f"(columns {seen[key] + 1} and {index + 1}); give each column its own name."
            )
        seen[key] = index
    return headers


def _finished(table: Table) -> Table:
    if not table.headers:
        raise FileRefused("The file has no rows: the first row should name the columns.")
    if not table.rows:
        raise FileRefused("The file has a header row but no rows under it.")
    width = len(table.headers)
    for _number, cells in table.rows:
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
    return table


# --- XLSX --------------------------------------------------------------------------------------

_DANGEROUS_XML = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*\bref=\"([A-Z]+[0-9]+:[A-Z]+[0-9]+)\"")


def _zip_checked(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileRefused("The file looks like XLSX but is damaged (not a readable zip).") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise FileRefused("The XLSX file has an unusual number of parts; it is refused.")
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if total > MAX_UNPACKED_BYTES or (member.file_size > 1_000_000 and ratio > MAX_RATIO):
            raise FileRefused(
                "The XLSX file would unpack to far more than it holds (a “zip bomb”); it is "
                "refused and nothing was read from it."
            )
        if member.flag_bits & 0x1:
            raise FileRefused(
                "The XLSX file is password-protected: remove the password and save it again."
            )
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        raise FileRefused("The file is a zip archive but not an Excel workbook (XLSX).")
    return archive


def _scan_xml(archive: zipfile.ZipFile) -> dict[str, str]:
    """Refuse document type declarations in any XML part; return the first merged range of
    each worksheet part that has one."""
    merged: dict[str, str] = {}
    for member in archive.infolist():
        if not member.filename.endswith((".xml", ".rels", ".vml")):
            continue
        with archive.open(member) as stream:
            tail = b""
            while chunk := stream.read(_SCAN_CHUNK):
                window = tail + chunk
                if _DANGEROUS_XML.search(window):
                    raise FileRefused(
                        "The XLSX file carries a document type declaration (the way an “XML "
                        "bomb” or an entity attack starts): no spreadsheet program writes one. "
                        "It is refused and nothing was read from it."
                    )
                if member.filename.startswith("xl/worksheets/") and member.filename not in merged:
                    found = _MERGE.search(window)
                    if found:
                        merged[member.filename] = found.group(1).decode()
                tail = window[-512:]
    return merged


def _sheet_part(archive: zipfile.ZipFile, title: str) -> str:
    """The zip part of the sheet called ``title`` (through the workbook's relationships)."""
    from openpyxl.packaging.relationship import get_dependents
    from openpyxl.reader.workbook import WorkbookParser

    parser = WorkbookParser(archive, "xl/workbook.xml")
    parser.parse()
    rels = get_dependents(archive, "xl/_rels/workbook.xml.rels")
    for sheet, rel in parser.find_sheets():
        if sheet.name == title:
            target = rels.get(rel.id).target if rel is not None else ""
            return str(target).lstrip("/")
    return ""


def _read_xlsx(data: bytes, *, sheet: str) -> Table:
    from openpyxl import load_workbook

    archive = _zip_checked(data)
    merged = _scan_xml(archive)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - whatever a damaged workbook raises
        raise FileRefused(
            f"The XLSX file cannot be read ({type(exc).__name__}). Open it in a spreadsheet "
            "program and save it again, or save it as CSV UTF-8."
        ) from None
    try:
        names = list(workbook.sheetnames)
        if sheet and sheet not in names:
            raise FileRefused(
                f"The workbook has no sheet called “{sheet}” (it has: {', '.join(names)})."
            )
        title = sheet or names[0]
        part = _sheet_part(archive, title)
        if part in merged:
            raise FileRefused(
                f"The sheet “{title}” has merged cells ({merged[part]} and maybe others). A merged "
                "cell belongs to several rows at once: unmerge the cells, fill in each row, and "
                "import again."
            )
        return _finished(_sheet_rows(workbook[title], title))
    finally:
        workbook.close()


def _sheet_rows(worksheet: Any, title: str) -> Table:
    _, max_rows = _limits()
    table = Table(kind="xlsx", headers=[], rows=[], sheet=title)
    for number, row in enumerate(worksheet.iter_rows(), start=1):
        cells: list[str] = []
        formula_columns = []
        for index, cell in enumerate(row):
            value = getattr(cell, "value", None)
            if getattr(cell, "data_type", "") == "f" or (
                isinstance(value, str) and value.startswith("=")
            ):
                formula_columns.append(index)
                value = None
            cells.append(_cell_text(value))
        while cells and not cells[-1] and (len(cells) - 1) not in formula_columns:
            cells.pop()
        _take(table, number, cells, max_rows, formula_columns if table.headers else [])
    return table


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split()) if "\n" not in str(value) else str(value).strip()


def rows_iter(table: Table) -> Iterator[tuple[int, dict[str, str]]]:
    """Each row as (number, header -> cell); columns without a header are left out."""
    for number, cells in table.rows:
        yield number, {h: cells[i] for i, h in enumerate(table.headers) if h and i < len(cells)}
