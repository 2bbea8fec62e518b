"""CSV and XLSX writing: formula injection, Hangul, nothing on disk."""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile

import pytest

from haven.exports.tables import csv_bytes, safe_text, table_bytes, xlsx_bytes
from haven.imports.reading import read_table

DANGEROUS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_cells_that_spreadsheets_would_run_are_written_as_text(value: str) -> None:
    assert safe_text(value) == "'" + value


def test_plain_text_and_numbers_are_left_alone() -> None:
    assert safe_text("김선희") == "김선희" and safe_text("a=b") == "a=b"


def test_csv_has_a_bom_and_neutralised_cells() -> None:
    data = csv_bytes(["이름", "연락처"], [["김선희", "=cmd|' /C calc'!A0"], ["박", -3]])
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "'=cmd" in text and ",-3\r\n" in text  # a number stays a number


def test_xlsx_cells_are_strings_never_formulas() -> None:
    from openpyxl import load_workbook

    data = xlsx_bytes(["a", "b", "c"], [["=1+1", 5, dt.date(2020, 1, 2)]])
    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet["A2"].value == "'=1+1" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 5
    assert sheet["C2"].value.date() == dt.date(2020, 1, 2)
    assert book.properties.creator in (None, "")
    assert read_table(data).rows[0][1][0] == "'=1+1"


def test_writing_leaves_no_temporary_file(tmp_path, monkeypatch) -> None:
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    table_bytes("xlsx", ["이름"], [["김선희"]] * 50_000)
    assert os.listdir(private) == []


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError):
        table_bytes("pdf", ["a"], [])
