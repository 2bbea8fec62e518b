"""A published release as a file: CSV, XLSX, HXL-tagged CSV (the Humanitarian Exchange Language:
a second row of hashtags that humanitarian tools read), or its charts as one SVG.

What is exported is what was published: a figure kept back is an empty value marked
"suppressed", never its count. Text that a spreadsheet would take for a formula is quoted.
"""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING, Any

from django.utils import translation
from django.utils.translation import gettext as _

from haven.stats import categories as cat
from haven.stats.charts import WIDTH, chart_svg, col_label, row_label
from haven.stats.tables import MEASURES, TOTAL, Table

if TYPE_CHECKING:
    from haven.stats.selectors import ReleaseView

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "hxl": ("text/csv; charset=utf-8", "hxl.csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "svg": ("image/svg+xml", "svg"),
}
LANGUAGES = ("en", "ko", "zh-hans")
# The long form's columns and their HXL hashtags.
COLUMNS = (
    ("table", "#meta+table"),
    ("measure", "#indicator+name"),
    ("period", "#date+reported"),
    ("row_dimension", "#meta+rows"),
    ("row_code", "#meta+row+code"),
    ("row", "#meta+row+name"),
    ("column_dimension", "#meta+columns"),
    ("column_code", "#meta+column+code"),
    ("column", "#meta+column+name"),
    ("value", "#affected"),
    ("status", "#meta+status"),
)


def _safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def long_rows(view: ReleaseView) -> list[dict[str, Any]]:
    rows = []
    release = view.release
    span = f"{release.start}/{release.end}"
    for table in view.tables:
        measure = MEASURES[table.spec.measure]
        for figure in table.figures.values():
            period = span
            if table.spec.rows == "period" and figure.row != TOTAL:
                period = figure.row
            rows.append(
                {
                    "table": table.spec.key,
                    "measure": str(measure.label),
                    "period": period,
                    "row_dimension": table.spec.rows,
                    "row_code": figure.row,
                    "row": row_label(table, figure.row),
                    "column_dimension": table.spec.cols,
                    "column_code": figure.col,
                    "column": col_label(table, figure.col) if table.spec.cols else "",
                    "value": "" if figure.shown is None else figure.shown,
                    "status": "suppressed" if figure.suppressed else figure.status,
                }
            )
    return rows


def _csv(view: ReleaseView, *, hxl: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([name for name, _tag in COLUMNS])
    if hxl:
        writer.writerow([tag for _name, tag in COLUMNS])
    for row in long_rows(view):
        writer.writerow([_safe(row[name]) for name, _tag in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig" if not hxl else "utf-8")


def _grid(table: Table) -> list[list[Any]]:
    cols = [*table.col_codes, TOTAL] if table.spec.cols else [""]
    head = [str(cat.DIMENSION_LABELS[table.spec.rows])] + [col_label(table, c) for c in cols]
    grid: list[list[Any]] = [head]
    for row in [*table.row_codes, TOTAL]:
        line: list[Any] = [row_label(table, row)]
        for col in cols:
            figure = table.figure(row, col)
            line.append("x" if figure.shown is None else figure.shown)
        grid.append(line)
    return grid


def _sheet_name(text: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]\*\?/\\:]", " ", text)[:28] or "Table"
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name[:25]} {n}", n + 1
    used.add(candidate)
    return candidate


def _xlsx(view: ReleaseView) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    about = book.active
    about.title = _sheet_name(_("About"), set())
    release = view.release
    about.append([_("Statistics release")])
    about.append([_("Title"), _safe(view.title)])
    about.append([_("Months"), f"{release.start} – {release.end}"])
    about.append([_("Published"), release.published_at.isoformat() if release.published_at else ""])
    about.append(
        [
            _(
                "Figures below %(k)d are kept back (x), with others where needed so that none can be worked out."
            )
            % {"k": release.k}
        ]
    )
    used = {about.title}
    for table in view.tables:
        sheet = book.create_sheet(_sheet_name(table.spec.key.replace(":", " "), used))
        sheet.append([_safe(table.spec.title())])
        for line in _grid(table):
            sheet.append([_safe(value) for value in line])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _svg(view: ReleaseView) -> bytes:
    charts = []
    y = 0
    for index, table in enumerate(view.tables):
        svg = chart_svg(table, title=table.spec.title(), chart_id=f"c{index}")
        height = int(re.search(r'height="(\d+)"', svg).group(1))  # type: ignore[union-attr]
        charts.append(svg.replace("<svg ", f'<svg x="0" y="{y}" ', 1))
        y += height + 24
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {y}" width="{WIDTH}" '
        f'height="{y}">'
    )
    return (head + "".join(charts) + "</svg>").encode("utf-8")


def export(view: ReleaseView, *, fmt: str, language: str) -> tuple[bytes, str, str]:
    content_type, extension = FORMATS[fmt]
    language = language if language in LANGUAGES else "en"
    with translation.override(language):
        if fmt == "csv":
            content = _csv(view, hxl=False)
        elif fmt == "hxl":
            content = _csv(view, hxl=True)
        elif fmt == "xlsx":
            content = _xlsx(view)
        else:
            content = _svg(view)
    name = f"haven-statistics-{view.release.start}-{view.release.end}.{extension}"
    return content, name, content_type
