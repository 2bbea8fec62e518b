"""Dates as people write them."""

from __future__ import annotations

import pytest

from haven.imports.dates import MONTH_FIRST, DateError, parse_date, parse_flag


@pytest.mark.parametrize(
    ("text", "value", "precision", "calendar"),
    [
        ("1990-03-05", "1990-03-05", "day", "solar"),
        ("1990.3.5", "1990-03-05", "day", "solar"),
        ("1990/03/05", "1990-03-05", "day", "solar"),
        ("19900305", "1990-03-05", "day", "solar"),
        ("05/03/1990", "1990-03-05", "day", "solar"),
        ("5.3.1990", "1990-03-05", "day", "solar"),
        ("1990년 3월 5일", "1990-03-05", "day", "solar"),
        ("1990년3월5일", "1990-03-05", "day", "solar"),
        ("1990년 3월", "1990-03", "month", "solar"),
        ("1990년", "1990", "year", "solar"),
        ("1990년생", "1990", "year", "solar"),
        ("1990-03", "1990-03", "month", "solar"),
        ("03/1990", "1990-03", "month", "solar"),
        ("1990", "1990", "year", "solar"),
        ("1990년 3월 5일 (음력)", "1990-03-05", "day", "lunar"),
        ("음력 1990.3.5", "1990-03-05", "day", "lunar"),
        ("1990-03-05 lunar", "1990-03-05", "day", "lunar"),
        ("1990-03-05 (양력)", "1990-03-05", "day", "solar"),
        ("1990-03-05T00:00", "1990-03-05", "day", "solar"),
    ],
)
def test_dates_people_write_are_read(text: str, value: str, precision: str, calendar: str) -> None:
    date = parse_date(text)
    assert date is not None
    assert (date.value, date.precision, date.calendar) == (value, precision, calendar)


def test_month_first_order_is_honoured_and_impossible_months_are_refused() -> None:
    date = parse_date("05/03/1990", order=MONTH_FIRST)
    assert date is not None and date.value == "1990-05-03"
    with pytest.raises(DateError, match="no month 25"):
        parse_date("12/25/1990")
    date = parse_date("12/25/1990", order=MONTH_FIRST)
    assert date is not None and date.value == "1990-12-25"


@pytest.mark.parametrize("text", ["", "-", "모름", "미상", "unknown", "?"])
def test_unknown_is_no_date(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("90-03-05", "four digits"),
        ("1990-02-30", "no day 30"),
        ("1990-13-01", "no month 13"),
        ("last spring", "not a date"),
        ("1990년 13월", "no month 13"),
    ],
)
def test_what_cannot_be_read_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(DateError, match=message):
        parse_date(text)


def test_the_lunar_column_sets_the_calendar_and_a_contradiction_is_refused() -> None:
    date = parse_date("1990-03-05", lunar=True)
    assert date is not None and date.calendar == "lunar"
    with pytest.raises(DateError, match="lunar"):
        parse_date("1990-03-05 양력", lunar=True)
    # A lunar month may have a 30th day that the solar month lacks.
    date = parse_date("1990-02-30", lunar=True)
    assert date is not None and date.value == "1990-02-30"


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("음력", True),
        ("Y", True),
        ("yes", True),
        ("1", True),
        ("✓", True),
        ("", False),
        ("아니오", False),
        ("양력", False),
        ("maybe", None),
    ],
)
def test_flags(text: str, flag: bool | None) -> None:
    assert parse_flag(text) is flag
