"""The normalised forms of a document and of a true value, so that the leak check compares like
with like: a name by its syllables (every romanization) and its Hangul, a place or an alias as a
phrase of whole words (and its Hangul or Chinese characters inside longer words), a date by its
day whatever the format (7 May 2016, 2016-05-07, 2016년 5월 7일, 2016年5月7日, May 7th).

The same forms are looked up in plaintext (a supervisor's check, with the true values at hand)
or as keyed fingerprints (a press officer's check, without them): :mod:`haven.disclosure.leakcheck`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from haven.disclosure.facts import COUNTRY_TEXT
from haven.matching.hangul import is_syllable, syllable_code
from haven.matching.names import is_unread, normalise_name
from haven.matching.text import clean, hangul_forms, name_sequences, words

MAX_PHRASE_WORDS = 6
MAX_HAN = 6
MIN_PHRASE_CHARS = 3
# Words too general to stand alone for a place: a place's part that is only one of these is not
# looked for (the country names too: a country is a coarse fact, plain in the database anyway).
GENERIC_PLACE_WORDS = frozenset(
    {
        "city",
        "town",
        "county",
        "province",
        "district",
        "region",
        "village",
        "room",
        "road",
        "street",
        "hotel",
        "house",
        "home",
        "station",
        "airport",
        "border",
        "unknown",
        "none",
        "north",
        "south",
        "east",
        "west",
        "korea",
        "city centre",
        *(names["en"].lower().removeprefix("the ") for names in COUNTRY_TEXT.values()),
    }
)
_TOKEN = re.compile(r"\w+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


# --- A document's forms -------------------------------------------------------------------------


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().casefold(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


Wanted = dict[str, frozenset[int]]


def wanted_lengths(forms: Iterator[tuple[str, str]] | list[tuple[str, str]]) -> Wanted:
    """How long the forms looked for are (words of a phrase, characters of Hangul or Chinese), so
    that a document is cut only into pieces of those lengths."""
    lengths: dict[str, set[int]] = {"phrase": set(), "hangul": set(), "han": set()}
    for kind, value in forms:
        if kind == "phrase":
            lengths["phrase"].add(value.count(" ") + 1)
        elif kind in ("hangul", "han"):
            lengths[kind].add(len(value))
    return {kind: frozenset(found) for kind, found in lengths.items()}


ALL_LENGTHS: Wanted = {
    "phrase": frozenset(range(1, MAX_PHRASE_WORDS + 1)),
    "hangul": frozenset(range(2, MAX_HAN + 1)),
    "han": frozenset(range(2, MAX_HAN + 1)),
}


def text_forms(raw: str, lengths: Wanted | None = None) -> Iterator[tuple[str, str, int, int]]:
    """Every (kind, form, start, end) of ``raw`` the leak check looks up (see the module's
    docstring); ``lengths`` (:func:`wanted_lengths`) limits phrases, Hangul and Chinese to the
    lengths looked for."""
    lengths = ALL_LENGTHS if lengths is None else lengths
    text = clean(raw)
    found = words(text)
    for sequence, start, end in name_sequences(text, found):
        yield "seq", sequence, start, end
    hangul = lengths.get("hangul", frozenset())
    longest = max(hangul, default=0)
    if longest:
        for kind, value, start, end in hangul_forms(text, longest=longest):
            if kind == "seq" or len(value) in hangul:
                yield kind, value, start, end
    han = lengths.get("han", frozenset())
    if han:
        for match in _HAN.finditer(text):
            run, base = match.group(), match.start()
            for i in range(len(run)):
                for n in han:
                    if i + n <= len(run):
                        yield "han", run[i : i + n], base + i, base + i + n
    phrase = lengths.get("phrase", frozenset())
    most = max(phrase, default=0)
    if most:
        tokens = _tokens(text)
        count = len(tokens)
        for i in range(count):
            value, start = tokens[i][0], tokens[i][1]
            for n in range(1, most + 1):
                if i + n > count:
                    break
                if n > 1:
                    value = value + " " + tokens[i + n - 1][0]
                if n in phrase:
                    yield "phrase", value, start, tokens[i + n - 1][2]
    yield from date_forms(text)


# --- Dates ----------------------------------------------------------------------------------------

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        )
    )
    for name in names
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?"
_DATE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<!\d)(\d{4})[-./ ](\d{1,2})[-./ ](\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"(?<!\d)(\d{1,2})[-./ ](\d{1,2})[-./ ](\d{4})(?!\d)"), "dmy/mdy"),
    (re.compile(r"(\d{4})\s*[년年]\s*(\d{1,2})\s*[월月]\s*(\d{1,2})\s*[일日号號]"), "ymd"),
    (re.compile(r"(?<![\d년年])(\d{1,2})\s*[월月]\s*(\d{1,2})\s*[일日号號]"), "md"),
    (re.compile(_DAY + r"\s+(?:of\s+)?" + _MONTH + r",?(?:\s+(\d{4}))?", re.IGNORECASE), "dMy"),
    (
        re.compile(
            r"\b(?=[adfjmnos])" + _MONTH + r"\s+" + _DAY + r"(?:,?\s+(\d{4}))?(?!\d)",
            re.IGNORECASE,
        ),
        "Mdy",
    ),
)


def _valid(year: int | None, month: int, day: int) -> bool:
    try:
        dt.date(year or 2000, month, day)
    except ValueError:
        return False
    return True


def _date_values(year: int | None, month: int, day: int) -> list[tuple[str, str]]:
    if not _valid(year, month, day):
        return []
    found = [("md", f"{month:02d}-{day:02d}")]
    if year is not None:
        found.append(("date", f"{year:04d}-{month:02d}-{day:02d}"))
    return found


def date_forms(text: str) -> Iterator[tuple[str, str, int, int]]:
    """("date", "YYYY-MM-DD", start, end) and ("md", "MM-DD", ...) for every date written to the
    day; a numeric date that could be day-month or month-day gives both."""
    for pattern, order in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            groups = m.groups()
            readings: list[tuple[int | None, int, int]] = []
            if order == "ymd":
                readings.append((int(groups[0]), int(groups[1]), int(groups[2])))
            elif order == "dmy/mdy":
                a, b, year = int(groups[0]), int(groups[1]), int(groups[2])
                readings += [(year, b, a), (year, a, b)]
            elif order == "md":
                readings.append((None, int(groups[0]), int(groups[1])))
            elif order == "dMy":
                written = int(groups[2]) if groups[2] else None
                readings.append((written, _MONTHS[groups[1].lower()], int(groups[0])))
            else:  # Mdy
                written = int(groups[2]) if groups[2] else None
                readings.append((written, _MONTHS[groups[0].lower()], int(groups[1])))
            for when, month, day in readings:
                for kind, value in _date_values(when, month, day):
                    yield kind, value, m.start(), m.end()


# --- A true value's forms -------------------------------------------------------------------------


def phrase_form(value: str) -> str:
    """A value as the whole words a document would show it in ("" when it has none)."""
    return " ".join(t for t, _, _ in _tokens(clean(value)))


def name_forms(value: str) -> set[tuple[str, str, str]]:
    """(kind, form, part) of a name: its syllables in every reading ("full name") and its given
    name when two syllables or more ("given name"), its Hangul, its Chinese characters, its
    whole words. Looked for in every spelling the matcher reads."""
    forms: set[tuple[str, str, str]] = set()
    text = clean(value)
    read = normalise_name(text)
    for reading in read.readings:
        syllables = reading.syllables
        if not syllables or any(is_unread(s) for s in syllables):
            continue
        if len(syllables) >= 2:
            forms.add(("seq", ".".join(s.key for s in syllables), "full name"))
        if reading.surname and len(reading.given) >= 2:
            forms.add(("seq", ".".join(s.key for s in reading.given), "given name"))
    hangul = "".join(ch for ch in text if is_syllable(ch))
    if len(hangul) >= 2:
        forms.add(("hangul", hangul[:MAX_HAN_FORM], "full name"))
        first = read.readings[0] if read.readings else None
        given = first.given_text.replace(" ", "") if first is not None else ""
        if first is not None and first.surname and len(given) >= 2 and is_syllable(given[0]):
            forms.add(("hangul", given, "given name"))
    for run in _HAN.findall(text):
        if len(run) >= 2:
            forms.add(("han", run[:MAX_HAN], "full name"))
    phrase = phrase_form(text)
    if len(phrase) >= MIN_PHRASE_CHARS and len(phrase.split()) <= MAX_PHRASE_WORDS:
        forms.add(("phrase", phrase, "full name"))
    return forms


MAX_HAN_FORM = 6  # Hangul syllables looked for in one piece (hangul_forms' longest stretch)


def place_forms(value: str) -> set[tuple[str, str, str]]:
    """(kind, form, part) of a place: each part between commas as whole words (a part longer than
    six words, in windows of six), its Hangul, its Chinese characters, and its syllables when it
    reads as Korean (Sinuiju, Sinŭiju, Shinuiju, 신의주)."""
    forms: set[tuple[str, str, str]] = set()
    for part in re.split(r"[,;/\n]+", clean(value)):
        tokens = [t for t, _, _ in _tokens(part)]
        if not tokens:
            continue
        windows = (
            [tokens]
            if len(tokens) <= MAX_PHRASE_WORDS
            else [
                tokens[i : i + MAX_PHRASE_WORDS] for i in range(len(tokens) - MAX_PHRASE_WORDS + 1)
            ]
        )
        for window in windows:
            phrase = " ".join(window)
            if len(phrase) < MIN_PHRASE_CHARS or phrase in GENERIC_PLACE_WORDS:
                continue
            if phrase.isdigit():
                continue
            forms.add(("phrase", phrase, "place"))
        hangul = "".join(ch for ch in part if is_syllable(ch))
        if len(hangul) >= 2:
            forms.add(("hangul", hangul[:MAX_HAN_FORM], "place"))
            forms.add(
                ("seq", ".".join(syllable_code(ch).key for ch in hangul[:MAX_HAN_FORM]), "place")
            )
        for run in _HAN.findall(part):
            if len(run) >= 2:
                forms.add(("han", run[:MAX_HAN], "place"))
        if len(tokens) <= 2 and not hangul:
            read = normalise_name(part)
            for reading in read.readings:
                syllables = reading.syllables
                if len(syllables) >= 2 and not any(is_unread(s) for s in syllables):
                    forms.add(("seq", ".".join(s.key for s in syllables), "place"))
    return forms


def date_value_forms(day: dt.date, *, month_day: bool) -> set[tuple[str, str, str]]:
    """A true date: the full date, and (``month_day``) its day and month without the year."""
    forms = {("date", day.isoformat(), "date")}
    if month_day:
        forms.add(("md", f"{day.month:02d}-{day.day:02d}", "date"))
    return forms
