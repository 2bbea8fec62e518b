"""Dates as people write them in spreadsheets, to a value with its precision and calendar.

Accepted, with or without spaces: ``1990-03-05``, ``1990.3.5``, ``1990/03/05``, ``19900305``,
``05/03/1990`` and ``05.03.1990`` (day first by default; month first when the import says so),
``1990년 3월 5일``, ``1990년 3월``, ``1990년(생)``, ``1990-03``, ``03/1990``, ``1990`` alone, and
the same with a calendar mark: ``(음력)``, ``음``, ``lunar``, ``(양력)``, ``solar``. An XLSX date
cell arrives as an ISO date. "Unknown" (모름, 미상, ?, -, unknown, n/a) is no date at all.

Nothing is guessed silently: ``05/03/1990`` is the 5th of March when the order is day first and
the 3rd of May when month first; ``25/12/1990`` under month first is refused (there is no 25th
month) with a message saying so. A two-digit year is refused (1990 or 2090 is a guess).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DAY_FIRST = "dmy"
MONTH_FIRST = "mdy"
DATE_ORDERS = (DAY_FIRST, MONTH_FIRST)

UNKNOWN_WORDS = frozenset(
    {"", "-", "--", "?", "??", "모름", "미상", "불명", "unknown", "n/a", "na", "none", "없음"}
)
LUNAR_WORDS = ("음력", "(음)", "lunar", "음")
SOLAR_WORDS = ("양력", "(양)", "solar", "양")

_ISO = re.compile(r"^(\d{4})[-./](\d{1,2})(?:[-./](\d{1,2}))?\.?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMERIC_DMY = re.compile(r"^(\d{1,2})[-./](\d{1,2})[-./](\d{4})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})[-./](\d{4})$")
_YEAR = re.compile(r"^(\d{4})$")
_KOREAN = re.compile(r"^(\d{4})\s*년(?:\s*(\d{1,2})\s*월(?:\s*(\d{1,2})\s*일)?)?$")
_TWO_DIGIT_YEAR = re.compile(r"^(\d{1,2})[-./](\d{1,2})[-./](\d{2})$|^(\d{2})\s*년")
_ISO_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::\d{2})?$")


class DateError(ValueError):
    """The text is not a date we can read; the message says what was expected."""


@dataclass(frozen=True)
class PartialDate:
    """A date known to the year, the month or the day, in the solar or the lunar calendar."""

    year: int
    month: int | None = None
    day: int | None = None
    calendar: str = "solar"

    @property
    def precision(self) -> str:
        return "day" if self.day else "month" if self.month else "year"

    @property
    def value(self) -> str:
        """As the person payload stores it: YYYY, YYYY-MM or YYYY-MM-DD."""
        if self.day:
            return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        if self.month:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}"

    def as_date(self) -> dt.date:
        """The first day it can mean (a year alone: 1 January)."""
        return dt.date(self.year, self.month or 1, self.day or 1)


def _calendar_mark(text: str) -> tuple[str, str]:
    """The text without a trailing or parenthesised calendar word, and the calendar it named."""
    lowered = text.casefold()
    for words, calendar in ((LUNAR_WORDS, "lunar"), (SOLAR_WORDS, "solar")):
        for word in words:
            for form in (f"({word})", f"[{word}]", word):
                if lowered.endswith(form) and len(lowered) > len(form):
                    return text[: len(text) - len(form)].strip(), calendar
                if lowered.startswith(form) and len(lowered) > len(form):
                    return text[len(form) :].strip(), calendar
    return text, ""


def _checked(
    year: int, month: int | None, day: int | None, text: str, calendar: str
) -> PartialDate:
    if month is not None and not 1 <= month <= 12:
        raise DateError(f"“{text}”: there is no month {month}.")
    if day is not None:
        try:
            dt.date(year, month or 1, day)
        except ValueError:
            if calendar == "lunar" and month is not None and 1 <= day <= 30:
                # A lunar month has 29 or 30 days; its solar day is not ours to compute here.
                return PartialDate(year, month, day, calendar)
            raise DateError(
                f"“{text}”: there is no day {day} in month {month} of {year}."
            ) from None
    return PartialDate(year, month, day, calendar or "solar")


def parse_date(
    text: str, *, order: str = DAY_FIRST, lunar: bool | None = None
) -> PartialDate | None:
    """A :class:`PartialDate`, or None for an empty or "unknown" cell. ``lunar`` (from a separate
    column) overrides a mark in the text; a mark that contradicts it is an error."""
    raw = " ".join(str(text).split())
    if raw.casefold() in UNKNOWN_WORDS:
        return None
    body, marked = _calendar_mark(raw)
    body = body.removesuffix("생").removesuffix("(생)").strip().rstrip(",")
    if lunar is not None:
        wanted = "lunar" if lunar else "solar"
        if marked and marked != wanted and lunar:
            raise DateError(f"“{raw}” says {marked}, but the lunar column says lunar.")
        calendar = "lunar" if lunar else (marked or "solar")
    else:
        calendar = marked or "solar"
    if _TWO_DIGIT_YEAR.match(body):
        raise DateError(f"“{raw}”: write the year with four digits (1990, not 90).")
    if found := _ISO_DATETIME.match(body):
        body = found.group(1)
    if found := _KOREAN.match(body):
        year, month, day = found.groups()
        return _checked(int(year), _int(month), _int(day), raw, calendar)
    if found := _ISO.match(body):
        year, month, day = found.groups()
        return _checked(int(year), int(month), _int(day), raw, calendar)
    if found := _COMPACT.match(body):
        year, month, day = found.groups()
        return _checked(int(year), int(month), int(day), raw, calendar)
    if found := _NUMERIC_DMY.match(body):
        first, second, year = (int(x) for x in found.groups())
        day, month = (first, second) if order == DAY_FIRST else (second, first)
        if month > 12:
            which = "day first" if order == DAY_FIRST else "month first"
            raise DateError(
                f"“{raw}”: read {which}, there is no month {month}. If this file writes dates "
                f"{'month' if order == DAY_FIRST else 'day'} first, choose that date order."
            )
        return _checked(year, month, day, raw, calendar)
    if found := _MONTH_YEAR.match(body):
        month, year = (int(x) for x in found.groups())
        return _checked(year, month, None, raw, calendar)
    if found := _YEAR.match(body):
        return _checked(int(found.group(1)), None, None, raw, calendar)
    raise DateError(
        f"“{raw}” is not a date Haven reads: write 1990-03-05, 05/03/1990, 1990년 3월 5일, "
        "1990-03 or 1990 (add “음력” for a lunar date)."
    )


def _int(value: str | None) -> int | None:
    return int(value) if value else None


TRUE_WORDS = frozenset(
    {"y", "yes", "true", "1", "o", "v", "✓", "✔", "예", "네", "음력", "lunar", "음"}
)
FALSE_WORDS = frozenset(
    {"", "n", "no", "false", "0", "x", "-", "아니오", "아니요", "양력", "solar", "양"}
)


def parse_flag(text: str) -> bool | None:
    """A yes/no cell (the lunar column): True, False, or None when it is neither."""
    value = " ".join(str(text).split()).casefold()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    return None
