"""PDF documents made in memory, in Korean and English: the printed case file, and anything else
that needs a page to hand over (a press statement: :func:`render_document`).

Why fpdf2: pure Python (no system libraries, no browser), actively maintained, embeds a TrueType
font as a *subset* (a case file stays a few tens of KB though the font covers all of Hangul),
writes the document to a byte string without touching the disk, and is LGPL. ReportLab would do
as well but is larger than we need. The font is Debian's NanumGothic (``fonts-nanum``, installed
by ``scripts/ensure-fonts``); ``HAVEN_PDF_FONT`` names another TrueType file. It is looked for by
path, and its absence is a clear error (:class:`FontMissingError`), never a PDF of empty boxes.

Every page carries a marking line (who printed it, when, "confidential") in its footer. The
document's metadata say only "Haven": no title, author or subject that could name a person.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

MARGIN = 16
BODY_SIZE = 10
FONT = "haven"
# fontTools names each font table it leaves out of a subset (hinting sources): noise, not news.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class FontMissingError(RuntimeError):
    """The PDF font is not installed; the message says how to install it."""


def font_paths() -> tuple[Path, Path | None]:
    """The regular font (``HAVEN_PDF_FONT``) and a bold face beside it, if there is one."""
    regular = Path(str(settings.HAVEN_PDF_FONT))
    if not regular.is_file():
        raise FontMissingError(
            f"The font for printed files is missing ({regular}). Install Debian's fonts-nanum "
            "(scripts/ensure-fonts, run by make) or set HAVEN_PDF_FONT to a TrueType font with "
            "Hangul."
        )
    bold = regular.with_name(regular.stem + "Bold" + regular.suffix)
    return regular, bold if bold.is_file() else None


def _fpdf_class() -> Any:
    from fpdf import FPDF

    class _Pdf(FPDF):
        marking = ""

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT, size=7.5)
            self.set_text_color(90, 90, 90)
            self.cell(0, 4, self.marking, align="L")
            self.set_x(-MARGIN - 20)
            self.cell(20, 4, f"{self.page_no()} / {{nb}}", align="R")
            self.set_text_color(0, 0, 0)

    return _Pdf


class Document:
    """A simple flowing document: a title, headings, paragraphs, label-value lists and tables."""

    def __init__(self, *, title: str, language: str, marking: str = "", subtitle: str = ""):
        regular, bold = font_paths()
        pdf = _fpdf_class()(format="A4", unit="mm")
        pdf.marking = marking
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(auto=True, margin=18)
        pdf.add_font(FONT, "", str(regular))
        pdf.add_font(FONT, "B", str(bold or regular))
        pdf.set_lang("ko" if language.startswith("ko") else "en")
        pdf.set_creator("Haven")
        pdf.set_producer("Haven")
        pdf.set_title("")
        pdf.alias_nb_pages()
        pdf.add_page()
        self.pdf = pdf
        pdf.set_font(FONT, "B", 16)
        pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        if subtitle:
            pdf.set_font(FONT, "", 9)
            pdf.set_text_color(90, 90, 90)
            pdf.multi_cell(0, 5, subtitle, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0, 0, 0)
        pdf.ln(3)

    @property
    def width(self) -> float:
        return float(self.pdf.w - 2 * MARGIN)

    def heading(self, text: str) -> None:
        pdf = self.pdf
        if pdf.get_y() > pdf.h - 40:
            pdf.add_page()
        pdf.ln(2)
        pdf.set_font(FONT, "B", 12)
        pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(200, 200, 200)
        pdf.line(MARGIN, pdf.get_y(), pdf.w - MARGIN, pdf.get_y())
        pdf.ln(2)

    def paragraph(self, text: str, *, muted: bool = False, size: float = BODY_SIZE) -> None:
        pdf = self.pdf
        pdf.set_font(FONT, "", size)
        if muted:
            pdf.set_text_color(90, 90, 90)
        pdf.multi_cell(0, size * 0.5, text or "—", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1.5)

    def facts(self, items: Sequence[tuple[str, str]]) -> None:
        """Label and value pairs, the labels in a narrow column."""
        pdf = self.pdf
        label_width = 42
        for label, value in items:
            pdf.set_font(FONT, "B", 9)
            y = pdf.get_y()
            pdf.multi_cell(label_width, 5, label, new_x="RIGHT", new_y="TOP")
            pdf.set_font(FONT, "", BODY_SIZE)
            pdf.multi_cell(self.width - label_width, 5, value or "—", new_x="LMARGIN", new_y="NEXT")
            pdf.set_y(max(pdf.get_y(), y + 5))
        pdf.ln(1)

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
    ) -> None:
        """Rows of text under bold headers; ``widths`` in parts of the page width."""
        pdf = self.pdf
        total = sum(widths)
        cols = [self.width * w / total for w in widths]
        pdf.set_font(FONT, "", 8.5)
        with pdf.table(
            col_widths=cols, text_align="LEFT", line_height=4.5, first_row_as_headings=True
        ) as table:
            head = table.row()
            for header in headers:
                head.cell(header)
            for row in rows:
                line = table.row()
                for value in row:
                    line.cell(str(value) if value not in (None, "") else "—")
        pdf.ln(2)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def render_document(
    *, title: str, paragraphs: Sequence[str], language: str, marking: str = "", subtitle: str = ""
) -> bytes:
    """A document of a title and paragraphs (a press statement, a letter), as PDF bytes."""
    document = Document(title=title, language=language, marking=marking, subtitle=subtitle)
    for text in paragraphs:
        document.paragraph(text)
    return document.output()
