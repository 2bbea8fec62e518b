"""Spreadsheets made in memory for the import tests: CSV in several encodings and XLSX (with
openpyxl, written to a buffer), hostile ones included."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

HEADERS_KO = [
    "이름",
    "영문이름",
    "성별",
    "생년월일",
    "음력",
    "출신지",
    "직업",
    "접수일",
    "국가",
    "상태",
]
ROWS_KO = [
    [
        "김선희",
        "Kim Sun-hui",
        "여",
        "1990-03-05",
        "",
        "신의주",
        "식당 종업원",
        "2023-04-01",
        "중국",
        "접수",
    ],
    [
        "박영철",
        "Pak Yong-chol",
        "남",
        "05/03/1985",
        "",
        "청진",
        "무역",
        "2023.05.02",
        "태국",
        "제3국",
    ],
    ["리순옥", "", "여", "1992년 3월 5일", "음력", "혜산", "", "2024년 1월 3일", "CN", ""],
    ["최광호", "", "남", "1970", "", "평양", "간부", "2022", "KR", "입국"],
]


def csv_bytes(
    headers: Sequence[str] = HEADERS_KO,
    rows: Sequence[Sequence[str]] = ROWS_KO,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> bytes:
    import csv

    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(
    headers: Sequence[object] = HEADERS_KO,
    rows: Sequence[Sequence[object]] = ROWS_KO,
    *,
    merge: str = "",
    sheets: Sequence[str] = (),
) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "사람"
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    if merge:
        sheet.merge_cells(merge)
    for name in sheets:
        book.create_sheet(name)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_replace(
    data: bytes, name: str, content: bytes, *, extra: dict[str, bytes] | None = None
) -> bytes:
    """The XLSX ``data`` with one part replaced (and parts added)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, content if item.filename == name else src.read(item.filename))
        for extra_name, extra_content in (extra or {}).items():
            dst.writestr(extra_name, extra_content)
    return out.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&lol4;</t></si></sst>"""


BOMB_SHEET = BILLION_LAUGHS.split(b"<sst")[0] + (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>'
    b'<row r="2"><c r="A2" t="inlineStr"><is><t>&lol4;</t></is></c></row>'
    b"</sheetData></worksheet>"
).replace(b"lolz", b"worksheet")


def xml_bomb() -> bytes:
    """An XLSX whose sheet expands entities (a "billion laughs")."""
    return zip_replace(xlsx_bytes(), "xl/worksheets/sheet1.xml", BOMB_SHEET)


def zip_bomb() -> bytes:
    """An XLSX whose one extra part inflates from a few hundred KB to 500 MB of zeros."""
    data = xlsx_bytes()
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        info = zipfile.ZipInfo("xl/media/zeros.bin")
        info.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(info, "w", force_zip64=True) as part:
            block = b"\0" * (1 << 20)
            for _ in range(500):
                part.write(block)
    return out.getvalue()
