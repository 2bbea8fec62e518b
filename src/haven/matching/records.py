"""What the matcher knows about one person: :class:`MatchRecord`, built by :func:`match_record`.

A record holds the normalised name forms and the cleaned short fields; it never holds a model
instance, so the engine runs anywhere (a command, a benchmark, a partner's laptop).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from haven.matching.names import NameForms, normalise_name, with_other_spelling

MAX_FIELD_CHARS = 200  # a short field longer than this is cut: work stays bounded

Precision = Literal["none", "year", "month", "day"]
Calendar = Literal["solar", "lunar", ""]
CALENDARS: tuple[Calendar, ...] = ("solar", "lunar", "")


@dataclass(frozen=True, slots=True)
class Birth:
    """A birth date known to year, month or day (``precision`` says which), as written, in the
    solar or the lunar calendar (``calendar``; "" when the record does not say: most do not)."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    calendar: Calendar = ""

    @property
    def precision(self) -> Precision:
        """How much of the date is known."""
        if self.year is None:
            return "none"
        if self.month is None:
            return "year"
        return "month" if self.day is None else "day"


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """One person as the matcher sees them. Empty fields are ``None`` (unknown, not "differs")."""

    id: str  # the local id: the only thing a match result reports
    name: NameForms
    birth: Birth
    sex: str | None = None
    origin: str | None = None
    occupation: str | None = None
    group: str | None = None
    broker: str | None = None
    # Further free-text fields compared fuzzily (an address, a workplace): (field name, value).
    extra: tuple[tuple[str, str], ...] = ()


# Names repeat (common names, the same person written the same way): normalise each once.
_normalise = lru_cache(maxsize=1 << 16)(normalise_name)


@lru_cache(maxsize=1 << 12)
def _with_others(name: str, others: tuple[str, ...]) -> NameForms:
    forms = _normalise(name)
    for other in others:
        forms = with_other_spelling(forms, _normalise(other))
    return forms


def clean_field(value: object) -> str | None:
    """A short field as compared: NFKC, case-folded, single-spaced, capped; ``None`` if empty."""
    if value is None:
        return None
    if isinstance(value, str):
        return _clean_text(value)
    return _clean_uncached(value)


# Short fields take few values (a sex, a province, an occupation) across a whole population:
# each distinct string is cleaned once. Bounded, and holds only what records hold anyway.
@lru_cache(maxsize=1 << 10)
def _clean_text(value: str) -> str | None:
    return _clean_uncached(value)


def _clean_uncached(value: object) -> str | None:
    text = unicodedata.normalize("NFKC", str(value)[: MAX_FIELD_CHARS * 4]).casefold()
    text = " ".join("".join(ch for ch in text if unicodedata.category(ch)[0] != "C").split())
    return text[:MAX_FIELD_CHARS] or None


def _part(value: int | None, low: int, high: int) -> int | None:
    return value if value is not None and low <= value <= high else None


def match_record(
    *,
    id: str,
    name: str,
    birth_year: int | None = None,
    birth_month: int | None = None,
    birth_day: int | None = None,
    birth_calendar: str | None = None,
    sex: str | None = None,
    origin: str | None = None,
    occupation: str | None = None,
    group: str | None = None,
    broker: str | None = None,
    extra: Mapping[str, str | None] | None = None,
    other_spellings: Sequence[str | None] = (),
) -> MatchRecord:
    """Build a record from raw values: the name is normalised, short fields cleaned.

    ``other_spellings`` are further spellings of the same name on the record (the romanized
    name beside the Hangul, see :func:`haven.matching.names.with_other_spelling`); not
    aliases or other names a person went by.

    Impossible date parts are dropped rather than raised on (a month of 13 is unknown, not an
    error): the matcher must accept whatever the files hold. A month without a year, or a day
    without a month, is dropped too.
    """
    year = _part(birth_year, 1850, 2200)
    month = _part(birth_month, 1, 12) if year is not None else None
    day = _part(birth_day, 1, 31) if month is not None else None
    said = (birth_calendar or "").strip().casefold()
    calendar: Calendar = (
        "solar" if said in ("solar", "양력") else "lunar" if said in ("lunar", "음력") else ""
    )
    others = tuple(o for o in other_spellings if o and o != name)
    extras = tuple(
        (key, cleaned)
        for key, value in sorted((extra or {}).items())
        if (cleaned := clean_field(value)) is not None
    )
    return MatchRecord(
        id=str(id),
        name=_with_others(name or "", others) if others else _normalise(name or ""),
        birth=Birth(year, month, day, calendar if year is not None else ""),
        sex=clean_field(sex),
        origin=clean_field(origin),
        occupation=clean_field(occupation),
        group=clean_field(group),
        broker=clean_field(broker),
        extra=extras,
    )
