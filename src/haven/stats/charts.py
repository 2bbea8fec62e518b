"""Charts as SVG drawn on the server: no JavaScript, no style sheet, no font or image from
elsewhere; presentation attributes only (the pages' Content-Security-Policy allows no inline
style). Each chart is an image with a title and a description, and the page puts the same figures
beside it as a table: the chart is never the only way to read them.

A figure kept back is drawn as an empty, dashed bar marked "x", never as a bar of its value.
"""

from __future__ import annotations

from html import escape

from django.utils.translation import gettext as _

from haven.stats import categories as cat
from haven.stats.tables import TOTAL, Table

PALETTE = ("#1f5f8b", "#d08a00", "#2e7d4f", "#8b3a62", "#5f6b7a", "#3a7fa8", "#a15c00", "#6b5ca5")
WIDTH = 640
BAR = 14
GAP = 6
LABEL_WIDTH = 190


def row_label(table: Table, code: str) -> str:
    if code == TOTAL:
        return _("Total")
    if table.spec.rows == "period":
        return table.row_labels.get(code, code)
    return cat.label(table.spec.rows, code)


def col_label(table: Table, code: str) -> str:
    if code == TOTAL:
        return _("Total")
    if not code:
        return _("Count")
    return cat.label(table.spec.cols, code)


def chart_svg(table: Table, *, title: str, chart_id: str) -> str:
    """A horizontal bar chart of the table (one bar per row, or per row and column)."""
    cols = [c for c in table.col_codes]
    groups = []
    peak = 1
    for row in table.row_codes:
        bars = []
        for col in cols:
            figure = table.figure(row, col)
            bars.append((col, figure.shown))
            if figure.shown is not None:
                peak = max(peak, figure.shown)
        groups.append((row, bars))
    per_group = len(cols) * (BAR + 2) + GAP
    legend = 0 if cols == [""] else (len(cols) + 1) // 2 * 18 + 8
    height = 34 + len(groups) * per_group + legend + 10
    plot = WIDTH - LABEL_WIDTH - 60
    description = _(
        "The same figures are in the table beside the chart. Bars marked x are kept back."
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" font-family="sans-serif" font-size="12">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
        f'<text x="0" y="16" font-size="14" font-weight="bold" fill="#1d2430">{escape(title)}</text>',
    ]
    y = 34
    for row, bars in groups:
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + (len(bars) * (BAR + 2)) / 2 + 4:.0f}" '
            f'text-anchor="end" fill="#1d2430">{escape(row_label(table, row))}</text>'
        )
        for index, (_col, shown) in enumerate(bars):
            colour = PALETTE[index % len(PALETTE)]
            top = y + index * (BAR + 2)
            if shown is None:
                parts.append(
                    f'<rect x="{LABEL_WIDTH}" y="{top}" width="{plot * 0.08:.0f}" height="{BAR}" '
                    f'fill="none" stroke="{colour}" stroke-dasharray="3 2"/>'
                    f'<text x="{LABEL_WIDTH + plot * 0.08 + 4:.0f}" y="{top + BAR - 3}" fill="#5f6b7a">x</text>'
                )
            else:
                length = plot * shown / peak
                parts.append(
                    f'<rect x="{LABEL_WIDTH}" y="{top}" width="{length:.1f}" height="{BAR}" fill="{colour}"/>'
                    f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{top + BAR - 3}" fill="#1d2430">{shown}</text>'
                )
        y += per_group
    if cols != [""]:
        for index, col in enumerate(cols):
            lx = (index % 2) * (WIDTH // 2)
            ly = y + (index // 2) * 18 + 8
            parts.append(
                f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{PALETTE[index % len(PALETTE)]}"/>'
                f'<text x="{lx + 18}" y="{ly + 11}" fill="#1d2430">{escape(col_label(table, col))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def table_html(table: Table, *, show_intervals: bool) -> str:
    """The figures of a chart as an accessible table: what is kept back is "x", with the
    attacker's range beside it when asked (staff pages; never in an export)."""
    cols = [*table.col_codes, TOTAL] if table.spec.cols else [""]
    kept = escape(_("kept back"))
    parts = [
        "<table>",
        f'<caption class="muted">{escape(_("The figures of the chart. x: kept back."))}</caption>',
        '<thead><tr><th scope="col"></th>',
        *(f'<th scope="col">{escape(col_label(table, c))}</th>' for c in cols),
        "</tr></thead><tbody>",
    ]
    for row in [*table.row_codes, TOTAL]:
        parts.append('<tr class="total">' if row == TOTAL else "<tr>")
        parts.append(f'<th scope="row">{escape(row_label(table, row))}</th>')
        for col in cols:
            figure = table.figure(row, col)
            if figure.shown is not None:
                parts.append(f'<td class="num">{figure.shown}</td>')
                continue
            note = kept
            extra = ""
            if show_intervals and figure.interval:
                low, high = figure.interval
                shown_high = "∞" if high >= 10**9 else str(high)
                note += " · " + escape(
                    _("an attacker can narrow it to %(low)s–%(high)s")
                    % {"low": low, "high": shown_high}
                )
                extra = f"<br><small>{low}–{shown_high}</small>"
            parts.append(f'<td class="num kept"><abbr title="{note}">x</abbr>{extra}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)
