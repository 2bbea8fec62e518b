"""Reading CSV and XLSX from memory: encodings, headers, limits and hostile files."""

from __future__ import annotations

import codecs
import functools

import pytest
from django.test import override_settings

from haven.imports.reading import FileRefused, read_table
from tests.imports import samples


@functools.cache
def _zip_bomb() -> bytes:
    return samples.zip_bomb()


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("cp949", b"", "cp949"),
        ("euc-kr", b"", "cp949"),
        ("utf-16", b"", "utf-16"),
    ],
)
def test_csv_encodings_are_detected(encoding: str, prefix: bytes, expected: str) -> None:
    data = prefix + samples.csv_bytes(encoding=encoding)
    table = read_table(data)
    assert table.kind == "csv"
    assert table.encoding == expected or (expected == "cp949" and table.encoding == "euc-kr")
    assert table.headers[0] == "이름"
    assert table.rows[0][1][0] == "김선희"
    assert [n for n, _cells in table.rows] == [2, 3, 4, 5]


def test_semicolon_and_tab_separated_files_are_read() -> None:
    for delimiter in (";", "\t"):
        table = read_table(samples.csv_bytes(delimiter=delimiter))
        assert table.rows[1][1][:3] == ["박영철", "Pak Yong-chol", "남"]


def test_a_file_in_two_encodings_is_refused_with_advice() -> None:
    data = samples.csv_bytes() + "\r\n".join(["이순희,Yi,여"] * 3).encode("cp949")
    with pytest.raises(FileRefused, match="CSV UTF-8"):
        read_table(data)


def test_a_forced_encoding_that_does_not_fit_is_refused() -> None:
    with pytest.raises(FileRefused, match="not valid utf-8"):
        read_table(samples.csv_bytes(encoding="cp949"), encoding="utf-8")


def test_binary_and_old_excel_files_are_refused() -> None:
    with pytest.raises(FileRefused, match="binary"):
        read_table(b"name\x00\x01\x02")
    with pytest.raises(FileRefused, match=r"\.xls"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(FileRefused, match="empty"):
        read_table(b"")


def test_xlsx_is_read_with_dates_and_numbers_as_text() -> None:
    import datetime as dt

    data = samples.xlsx_bytes(
        ["이름", "생년월일", "나이"],
        [
            ["김선희", dt.datetime(1990, 3, 5), 34],  # noqa: DTZ001 - a naive Excel date
            ["박", 1985, 3.5],
        ],
    )
    table = read_table(data)
    assert table.kind == "xlsx" and table.sheet == "사람"
    assert table.rows[0][1] == ["김선희", "1990-03-05", "34"]
    assert table.rows[1][1] == ["박", "1985", "3.5"]


def test_formulas_are_never_read_as_values() -> None:
    data = samples.xlsx_bytes(
        ["이름", "연락처"], [["김", '=HYPERLINK("http://x.example","click")']]
    )
    table = read_table(data)
    assert table.rows[0][1] == ["김", ""]
    assert table.formulas == [(2, 1)]
    csv_table = read_table(samples.csv_bytes(["이름", "연락처"], [["김", "=1+2"]]))
    assert csv_table.rows[0][1] == ["김", ""] and csv_table.formulas == [(2, 1)]


def test_merged_cells_are_refused_with_the_range() -> None:
    with pytest.raises(FileRefused, match="A2:A3"):
        read_table(samples.xlsx_bytes(merge="A2:A3"))


def test_an_xml_bomb_is_refused_before_parsing() -> None:
    with pytest.raises(FileRefused, match="document type declaration"):
        read_table(samples.xml_bomb())


def test_a_zip_bomb_is_refused_before_inflating() -> None:
    with pytest.raises(FileRefused, match="zip bomb"):
        read_table(_zip_bomb())


def test_a_damaged_zip_and_a_zip_that_is_not_a_workbook_are_refused() -> None:
    with pytest.raises(FileRefused, match="damaged"):
        read_table(b"PK\x03\x04" + b"\0" * 50)
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(FileRefused, match="not an Excel workbook"):
        read_table(out.getvalue())


@override_settings(HAVEN_IMPORT_MAX_ROWS=1_000)
def test_a_million_rows_are_refused_after_the_limit_is_passed() -> None:
    body = "이름\r\n" + "김선희\r\n" * 1_000_000
    with pytest.raises(FileRefused, match="more than 1,000 rows"):
        read_table(body.encode())


@override_settings(HAVEN_IMPORT_MAX_BYTES=100_000)
def test_a_file_over_the_size_limit_is_refused() -> None:
    with pytest.raises(FileRefused, match="at most 0 MB|at most"):
        read_table(b"a\n" * 60_000)


def test_duplicate_headers_and_headerless_files_are_refused() -> None:
    with pytest.raises(FileRefused, match="both called"):
        read_table(samples.csv_bytes(["이름", "이름"], [["a", "b"]]))
    with pytest.raises(FileRefused, match="no rows under it"):
        read_table("이름\r\n".encode())


def test_an_unclosed_quote_is_explained() -> None:
    data = b'name,contact\r\nKim,"+82 10\r\n' + b"x" * 10
    table_or_error = None
    try:
        table_or_error = read_table(data)
    except FileRefused as exc:
        table_or_error = exc
    # Python's csv reads an unclosed quote to the end of the file: one long cell, not an error.
    assert table_or_error is not None
