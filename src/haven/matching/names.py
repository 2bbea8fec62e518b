"""Normalising and comparing personal names, Korean names above all.

Public API
----------
``normalise_name(text) -> NameForms``
    Cleans the text (NFKC, control and format characters dropped, capped at ``MAX_CHARS``),
    detects the script and, when the name reads as Korean, lists its *readings*: the name as
    surname + given name in :class:`~haven.matching.hangul.Syl` codes. Hangul, Revised
    Romanization, McCune–Reischauer (with or without breves and apostrophes), the North Korean
    system, popular spellings (Lee, Park, Choi, Sunhee) and Korean names in Cyrillic all reduce to
    the same codes. A romanized name has several readings when the order (Kim Min / Min Kim) or
    the syllable split (Kyongae: 경애 or 견개) is ambiguous. A typo is met halfway: two swapped
    neighbouring characters are swapped back ("Ki mChi-jae"), and a chunk that still reads as
    nothing becomes a placeholder so the rest of the name keeps its reading ("Gng Yun Ji"). ``NameForms`` also carries the coarse
    comparison ``keys`` ("kim son.hi" for 김선희, Kim Sun-hui and Gim Seon-hui) and blocking
    ``tokens``.
``name_similarity(a, b) -> float``
    In [0, 1]; 1.0 means the two names are the same under some reading of each.
``explain_name_match(a, b) -> NameMatch``
    The score with the parts that agreed (surname, given name, order) and plain-language reasons.
``same_name(a, b) -> bool``
    ``explain_name_match(a, b).equivalent``.
``with_other_spelling(forms, other) -> NameForms``
    The name with another spelling the same record gives of it (the romanized name beside the
    Hangul): when no reading of one is a reading of the other, the other's nearest reading
    becomes the name's second reading, and the Hangul no longer counts as exact.

What is kept apart and what is merged
-------------------------------------
Merged: plain/aspirated/tense and voiced/unvoiced consonants (k g kk kh; t d; p b; ch j ts; s sh),
ㄹ/ㄴ/ㅇ under the initial-sound rule (리=이, 류=유, 로=노, 량=양, 녀=여), ㅐ/ㅔ in romanized
input, and vowel spellings that romanizations use interchangeably: a romanized vowel stands for
the *set* of Hangul vowels it may write ("u": ㅜ, ㅡ or ㅓ; "o": ㅗ or ㅓ; "yu": ㅠ or ㅕ;
"ee"/"i": ㅣ or ㅢ). Two syllables agree when their sets meet.

Kept apart: every Hangul vowel against every other (선 ≠ 순, 정 ≠ 종, 희 ≠ 호, 영 ≠ 용),
consonant classes (김 ≠ 긴 ≠ 신), finals (정 ≠ 전), the syllable count. So 김선희 and 김순희 differ,
yet "Kim Sun-hui" agrees with both: the spelling cannot tell them apart. Surnames spelled as in
:mod:`haven.matching.surnames` read only as the listed surnames ("Yu" is 유/류, never 여).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import product
from typing import Literal, cast

from haven.matching.hangul import VOWEL_CLASS, Syl, is_syllable, syllable_code, table, to_jamo
from haven.matching.romanization import ascii_fold, romanize_name, split_syllables
from haven.matching.surnames import BY_HANJA, BY_ROMAN, COMPOUND, SOUTH_HANGUL

MAX_CHARS = 200  # longer input is cut: no real name is longer, and work stays bounded
MAX_TOKENS = 6  # more words than this is not a Korean name
MAX_CHUNK = 32  # letters in one unbroken romanized word
MAX_READINGS = 8
LEAVE_ONE_OUT_READINGS = 1  # readings that get ``o:`` keys: each costs candidate pairs
MAX_UNREAD = 4  # letters a typo-broken chunk may leave unread (Korean syllables are short)
MAX_REPAIR = 40  # letters: longer names are not searched for a swapped pair

# Weights of a syllable's parts in its similarity; the vowel carries most of the identity.
W_INITIAL, W_VOWEL, W_FINAL = 0.3, 0.5, 0.2
NEAR_VOWEL = 0.25  # credit for different Hangul vowels of the same class (선/순)
SURNAME_MISMATCH = 0.5  # share of syllable similarity kept when surnames are not the same

Script = Literal["empty", "hangul", "han", "latin", "cyrillic", "mixed", "other"]

# Korean names in Russian spelling (Ким, Пак, Цой): letters to the Latin the parser reads.
_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        table("a b v g d e yo zh z i y k l m n o p r s t u f h ts ch sh shch . y . e yu ya"),
        strict=True,
    )
)


@dataclass(frozen=True, slots=True)
class Reading:
    """One way to read a name: surname and given-name syllable codes (surname may be empty)."""

    surname: tuple[Syl, ...]
    given: tuple[Syl, ...]
    surname_text: str = ""
    given_text: str = ""
    swapped: bool = False  # the surname was taken from the end of the name (Western order)

    @property
    def surname_key(self) -> str:
        """Coarse key of the surname, e.g. "kim"."""
        return ".".join(s.key for s in self.surname)

    @property
    def given_key(self) -> str:
        """Coarse key of the given name, e.g. "son.hi"."""
        return ".".join(s.key for s in self.given)

    @property
    def key(self) -> str:
        """Surname key, a space, given-name key: "kim son.hi"."""
        return f"{self.surname_key} {self.given_key}".strip()

    @property
    def syllables(self) -> tuple[Syl, ...]:
        """Surname then given-name syllables."""
        return self.surname + self.given


@dataclass(frozen=True, slots=True)
class NameForms:
    """Everything matching needs to know about one written name."""

    text: str  # the cleaned input
    script: Script
    hangul: str  # the Hangul, surname first, spaces removed ("" if none)
    jamo: str  # the Hangul decomposed into compatibility jamo
    latin: str  # lower-case form for plain comparison: the romanized input, RR for Hangul
    readings: tuple[Reading, ...]  # empty when the name does not read as Korean
    # Another spelling of the name on the same record that disagreed with it and gave a
    # reading (see with_other_spelling); "" when none did.
    other: str = ""

    @property
    def identity(self) -> str:
        """What tells two forms apart: the cleaned text, and the other spelling if one counted."""
        return f"{self.text}\x00{self.other}" if self.other else self.text

    @property
    def korean(self) -> bool:
        """True when the name reads as a Korean name."""
        return bool(self.readings)

    @property
    def surname_key(self) -> str:
        """Surname key of the preferred reading ("" if none)."""
        return self.readings[0].surname_key if self.readings else ""

    @property
    def given_key(self) -> str:
        """Given-name key of the preferred reading ("" if none)."""
        return self.readings[0].given_key if self.readings else ""

    @property
    def keys(self) -> tuple[str, ...]:
        """Comparison keys of all readings, preferred first; the latin form if not Korean."""
        if not self.readings:
            return (self.latin,) if self.latin else ()
        return tuple(dict.fromkeys(r.key for r in self.readings))

    @property
    def tokens(self) -> tuple[str, ...]:
        """Blocking tokens: two names that may be the same person share at least one.

        ``n:`` all syllables in order (so a joined "Kimsunhui" meets 김선희), ``s:`` surname,
        ``g:`` given name, ``i:`` surname with the given name's initial consonants, ``o:`` the
        preferred reading with one given-name syllable (or the chunk a typo broke) left out.
        """
        found: dict[str, None] = {}
        for n, r in enumerate(self.readings):
            syllables = r.syllables
            # Each syllable's key once: every token below joins some of them (blocking runs
            # this for every distinct name of a population).
            keys = [s.key for s in syllables]
            cut = len(r.surname)
            surname_key = ".".join(keys[:cut])
            found["n:" + ".".join(keys)] = None
            if r.surname:
                found["s:" + surname_key] = None
            if r.given:
                found["g:" + ".".join(keys[cut:])] = None
            if r.surname and r.given:
                found[f"i:{surname_key}/" + ".".join(s.initial or "_" for s in r.given)] = None
            if len(syllables) >= 3 and n < LEAVE_ONE_OUT_READINGS:
                # One syllable left out in turn: a typo or a misheard syllable anywhere still
                # leaves one key in common (the surname left out is ``g:``).
                broken = [k for k, s in enumerate(syllables) if is_unread(s)]
                for k in broken or range(cut, len(syllables)):
                    found[f"o:{k}:" + ".".join(keys[:k] + keys[k + 1 :])] = None
        if not self.readings and self.latin:
            found["l:" + " ".join(sorted(self.latin.split()))] = None
        return tuple(found)


@dataclass(frozen=True, slots=True)
class NameMatch:
    """How two names compare, and why."""

    score: float  # 0..1
    equivalent: bool  # the same name under some reading of each
    method: Literal["phonetic", "string", "none"]
    surname: float | None  # agreement of the surnames, when both have one
    given: float | None  # agreement of the given names, when both have surnames
    swapped: bool  # one name was read in the other order
    key_a: str
    key_b: str
    reasons: tuple[str, ...]


# --- cleaning and script -------------------------------------------------------------------


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[: MAX_CHARS * 4])
    if text.isprintable():  # nearly every name: no control character to drop (one C-level test)
        return " ".join(text.split())[:MAX_CHARS].strip()
    out: list[str] = []
    for ch in text:
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch)[0] != "C":  # drop NUL, controls, zero-width, private use
            out.append(ch)
    return " ".join("".join(out).split())[:MAX_CHARS].strip()


def _is_han(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or o >= 0x20000


def _script_of(ch: str) -> str | None:
    if is_syllable(ch):
        return "hangul"
    if _is_han(ch):
        return "han"
    if not ch.isalpha():
        return None
    if ch.isascii() or 0xC0 <= ord(ch) <= 0x24F or 0x1E00 <= ord(ch) <= 0x1EFF:
        return "latin"
    if 0x400 <= ord(ch) <= 0x4FF:
        return "cyrillic"
    return "other"


def _detect(text: str) -> Script:
    if text.isascii():  # most names: every letter is Latin, no need to look at each character
        return "latin" if any(map(str.isalpha, text)) else "empty" if not text else "other"
    found = {s for s in map(_script_of, text) if s}
    if not found:
        return "empty" if not text else "other"
    if len(found) > 1:
        return "mixed"
    return cast(Script, found.pop())


# --- readings ------------------------------------------------------------------------------


def _codes(hangul: str) -> tuple[Syl, ...]:
    return tuple(syllable_code(ch) for ch in hangul)


def _hangul_readings(words: list[str]) -> list[Reading]:
    if len(words) == 1:
        word = words[0]
        if len(word) == 1:
            if word in SOUTH_HANGUL:
                return [Reading(_codes(word), (), word, "")]
            return [Reading((), _codes(word), "", word)]
        splits = [2] if word[:2] in COMPOUND and len(word) >= 4 else []
        if word[:2] in COMPOUND and len(word) == 3:
            splits = [2, 1]  # 남궁민 or 남+궁민; 선우진 or 선+우진
        splits = splits or [1]
        return [Reading(_codes(word[:n]), _codes(word[n:]), word[:n], word[n:]) for n in splits]
    readings = _ordered(
        words,
        lambda w: ([_codes(w)], w in SOUTH_HANGUL) if len(w) <= 2 else ([], False),
        lambda ws: [_codes("".join(ws))],
    )
    return readings or [Reading((), _codes("".join(words)), "", " ".join(words))]


SurnameOf = Callable[[str], tuple[list[tuple[Syl, ...]], bool]]
GivenOf = Callable[[list[str]], list[tuple[Syl, ...]]]


def _ordered(words: list[str], surname_of: SurnameOf, given_of: GivenOf) -> list[Reading]:
    """Readings with the surname first and with it last; a listed surname's side comes first.

    Both orders are kept when both ends could be surnames: "Thae Yong Ho" ends in a listed
    surname (호) but is 태영호, and comparison takes the best pair of readings anyway.
    """
    first, last = surname_of(words[0]), surname_of(words[-1])
    options: list[tuple[bool, list[tuple[Syl, ...]], list[str]]] = []
    if first[0]:
        options.append((False, first[0], words[1:]))
    if last[0]:
        options.insert(len(options) if first[1] or not last[1] else 0, (True, last[0], words[:-1]))
    readings: list[Reading] = []
    for swapped, surnames, rest in options:
        surname_text = words[-1] if swapped else words[0]
        for surname, given in product(surnames, given_of(rest)):
            readings.append(Reading(surname, given, surname_text, " ".join(rest), swapped))
    return readings


UNREAD = "?"  # initial of a syllable standing for a chunk that reads as no Korean syllable


def unread(chunk: str) -> Syl:
    """A placeholder for a romanized chunk a typo broke ("Gng", "Jnu"): it keeps its place in
    the name, agrees only with the same letters, and leaves the rest of the name readable."""
    return Syl(UNREAD + chunk, frozenset(), "")


def is_unread(syl: Syl) -> bool:
    """True for the placeholder of a chunk that did not read (see :func:`unread`)."""
    return syl.initial.startswith(UNREAD)


def _chunk_readings(words: list[str], partial: bool = False) -> list[tuple[Syl, ...]]:
    return list(_chunk_readings_cached(tuple(words), partial))  # fresh: the cache is shared


# Given names repeat across surnames and spellings of the surname ("Min-su" after Kim, Gim,
# Lee...): each is split into syllables once.
# Small on purpose: entries made all through normalising stay alive into the pass, and
# each pins a 16 KiB pymalloc pool of resident memory (1,024 entries: 16 MiB at most).
@lru_cache(maxsize=1 << 10)
def _chunk_readings_cached(words: tuple[str, ...], partial: bool) -> tuple[tuple[Syl, ...], ...]:
    return tuple(_read_chunks(list(words), partial))


def _read_chunks(words: list[str], partial: bool) -> list[tuple[Syl, ...]]:
    """Readings of romanized given-name words: every chunk split into syllables, then combined.

    With ``partial``, one chunk that reads as nothing becomes a placeholder instead of making
    the whole name unreadable.
    """
    chunks = [c for w in words for c in w.split()]
    per_chunk = [split_syllables(c) for c in chunks]
    if partial:
        broken = [k for k, p in enumerate(per_chunk) if not p]
        if len(broken) > 1:
            return []
        for k in broken:
            per_chunk[k] = (_partly_read(chunks[k]),)
    if not chunks or any(not p for p in per_chunk):
        return []
    combined: list[tuple[Syl, ...]] = []
    for parts in product(*per_chunk):
        combined.append(tuple(s for part in parts for s in part))
        if len(combined) >= MAX_READINGS:
            break
    return combined


def _partly_read(chunk: str) -> tuple[Syl, ...]:
    """A broken chunk as its longest readable start or end and a placeholder for the rest:
    "hojn" is 호 and a placeholder for "jn", so only the broken syllable is lost."""
    best: tuple[Syl, ...] = (unread(chunk),)
    rest = len(chunk)
    for cut in range(1, len(chunk)):
        for part, other, first in (
            (chunk[:cut], chunk[cut:], True),
            (chunk[cut:], chunk[:cut], False),
        ):
            if len(other) >= rest:
                continue
            found = split_syllables(part)
            if found:
                best = (*found[0], unread(other)) if first else (unread(other), *found[0])
                rest = len(other)
    return best


def _roman_surname(word: str, partial: bool = False) -> tuple[list[tuple[Syl, ...]], bool]:
    found, listed = _roman_surname_cached(word, partial)
    return list(found), listed  # a fresh list: the cached tuple is shared


# A few hundred surname spellings make up nearly every name: each is read once, not once per
# name (building the codes of every listed Hangul surname was a tenth of normalising).
# Small on purpose: entries made all through normalising stay alive into the pass, and
# each pins a 16 KiB pymalloc pool of resident memory (1,024 entries: 16 MiB at most).
@lru_cache(maxsize=1 << 10)
def _roman_surname_cached(word: str, partial: bool) -> tuple[tuple[tuple[Syl, ...], ...], bool]:
    found, listed = _read_roman_surname(word, partial)
    return tuple(found), listed


def _read_roman_surname(word: str, partial: bool) -> tuple[list[tuple[Syl, ...]], bool]:
    listed = BY_ROMAN.get(word.replace(" ", ""))
    if listed:
        return list(dict.fromkeys(_codes(h) for h in listed)), True
    # An unlisted surname is one syllable written as one word: all compound surnames are listed,
    # and a hyphenated word is a given name.
    if " " in word:
        return [], False
    found: list[tuple[Syl, ...]] = [r for r in _chunk_readings([word]) if len(r) == 1]
    if not found and partial and len(word) <= MAX_UNREAD and not split_syllables(word):
        found = [(unread(word),)]
    return found, False


def _roman_readings(words: list[str], surname_first: bool | None) -> list[Reading]:
    if any(len(c) > MAX_CHUNK for w in words for c in w.split()):
        return []
    found = _roman_readings_of(words, surname_first, partial=False)
    chunks = [c for w in words for c in w.split()]
    if found or sum(not split_syllables(c) for c in chunks) != 1:
        return found
    # A typo that breaks one chunk leaves the other syllables to compare and block on; a
    # longer unreadable stretch, or too little read around it, is a name of another language.
    return [
        r
        for r in _roman_readings_of(words, surname_first, partial=True)
        if sum(not is_unread(s) for s in r.syllables) >= 2
        and all(len(s.initial) - len(UNREAD) <= MAX_UNREAD for s in r.syllables if is_unread(s))
    ]


def _roman_readings_of(
    words: list[str], surname_first: bool | None, *, partial: bool
) -> list[Reading]:
    if len(words) == 1:
        return [Reading((), g, "", words[0]) for g in _chunk_readings(words, partial)]
    if surname_first is not None:  # "KIM, Sun-hui" or an all-capitals surname
        i = 0 if surname_first else -1
        rest = words[1:] if surname_first else words[:-1]
        surnames, _known = _roman_surname(words[i], partial)
        marked = [
            Reading(s, g, words[i], " ".join(rest), not surname_first)
            for s, g in product(surnames, _chunk_readings(rest, partial))
            if sum(map(is_unread, s + g)) <= 1
        ]
        if marked:  # else the cue was wrong: "Kim SUN-HUI"
            return marked
    readings = _ordered(
        words,
        lambda w: _roman_surname(w, partial),
        lambda ws: _chunk_readings(ws, partial),
    )
    return [r for r in readings if sum(map(is_unread, r.syllables)) <= 1]


def _han_readings(text: str) -> list[Reading]:
    chars = [ch for ch in text if _is_han(ch)]
    n = 2 if "".join(chars[:2]) in BY_HANJA else 1 if chars and chars[0] in BY_HANJA else 0
    surname_text = "".join(chars[:n])
    surname = _codes(BY_HANJA[surname_text]) if n else ()
    # Given-name characters have no reading table here: each stands for itself.
    given = tuple(Syl(ch, frozenset(), "") for ch in chars[n:])
    return [Reading(surname, given, surname_text, "".join(chars[n:]))] if chars else []


def _latin_letter(ch: str) -> str:
    latin = _CYRILLIC.get(ch.lower())
    if latin is None:
        return ch
    return latin.upper() if ch.isupper() else latin


def _surname_cue(raw_words: list[str]) -> bool | None:
    """True/False if the writer marked the surname as first/last, None if not."""
    caps = [w.isupper() and len(w) > 1 for w in raw_words]
    if sum(caps) == 1 and not all(caps) and (caps[0] or caps[-1]):
        return caps[0]
    return None


def _read_latin(latinised: str) -> tuple[str, list[Reading]]:
    """The comparison form and readings of a name in Latin letters, case kept for the cue."""
    # Keep the case until the surname cue is read: "Sun-hui KIM".
    head, comma, tail = latinised.partition(",")
    pairs = [(w, ascii_fold(w)) for w in (head + " " + tail).split()]
    pairs = [(raw, w) for raw, w in pairs if w]
    words = [w for _raw, w in pairs]
    cue = True if comma and head.strip() and tail.strip() else _surname_cue([r for r, _ in pairs])
    latin = " ".join(w.replace(" ", "") for w in words)
    if not 0 < len(words) <= MAX_TOKENS:
        return latin, []
    return latin, _roman_readings(words, cue if len(words) > 1 else None)


def _case_slip(text: str) -> bool:
    """True when a word starts in lower case and has a capital further on ("Ki mChi-jae",
    "Ha oH Jeong"): a letter typed on the wrong side of its neighbour or of a space."""
    for word in text.replace("-", " ").split():
        if len(word) > 1 and word[0].islower() and any(ch.isupper() for ch in word[1:]):
            return True
    return False


def _reads_fully(readings: list[Reading]) -> bool:
    return bool(readings) and not any(is_unread(s) for r in readings for s in r.syllables)


def _latin_name(latinised: str) -> tuple[str, list[Reading]]:
    """Read a romanized name; if a typo broke it, undo one swap of neighbouring characters.

    Swapped neighbours are the one typo that can be undone without guessing a letter: a name
    that does not read as Korean (or whose capitals show a letter out of place) is read with
    each pair of neighbouring characters swapped back, a space included ("Gwagn" → "Gwang",
    "Ki mChi-jae" → "Kim Chi-jae"), and the first that reads fully, capitals in place, is
    taken. Other typos leave a placeholder for the broken chunk (see :func:`unread`).
    """
    latin, readings = _read_latin(latinised)
    slip = _case_slip(latinised)
    # Only a name that reads as Korean but for one broken chunk, or shows a capital out of
    # place, is searched: names of other languages are left as written, and cost nothing more.
    if (_reads_fully(readings) and not slip) or not (readings or slip):
        return latin, readings
    if len(latinised) > MAX_REPAIR:
        return latin, readings
    # Swaps inside a word first: "Ryu lI-myŏng" is Ryu Il-myŏng rather than Ryul I-myŏng.
    inside = [k for k in range(len(latinised) - 1) if latinised[k : k + 2].isalpha()]
    across = [k for k in range(len(latinised) - 1) if not latinised[k : k + 2].isalpha()]
    for k in inside + across:
        a, b = latinised[k], latinised[k + 1]
        if a == b or not (a.isalpha() or b.isalpha()):
            continue
        variant = latinised[:k] + b + a + latinised[k + 2 :]
        if _case_slip(variant):
            continue
        fixed_latin, fixed = _read_latin(variant)
        if _reads_fully(fixed):
            return fixed_latin, fixed
    return latin, readings


def normalise_name(text: str) -> NameForms:
    """Normalise one written name into the forms used for comparison and blocking.

    Never raises on text: empty, foreign or absurdly long names give forms with no readings.
    """
    cleaned = _clean(text)
    script = _detect(cleaned)
    readings: list[Reading] = []
    hangul = latin = ""
    if script in ("hangul", "mixed") and any(map(is_syllable, cleaned)):
        # Hangul is the most exact form: when a name mixes scripts, read its Hangul only.
        words = "".join(ch if is_syllable(ch) else " " for ch in cleaned).split()[:MAX_TOKENS]
        readings = _hangul_readings([w[:MAX_CHUNK] for w in words])
        r0 = readings[0]
        hangul = r0.surname_text + r0.given_text.replace(" ", "")
        latin = romanize_name(r0.surname_text, r0.given_text.replace(" ", ""), "rr").lower()
    elif script == "han":
        readings = _han_readings(cleaned)
    elif script in ("latin", "cyrillic", "mixed"):
        # ASCII has no Cyrillic letter to transcribe: most names skip the per-letter pass.
        latinised = cleaned if cleaned.isascii() else "".join(map(_latin_letter, cleaned))
        latin, readings = _latin_name(latinised)
    elif script == "other":
        latin = cleaned.casefold()
    return NameForms(
        text=cleaned,
        script=script,
        hangul=hangul,
        jamo=to_jamo(hangul),
        latin=latin,
        readings=tuple(readings[:MAX_READINGS]),
    )


def with_other_spelling(forms: NameForms, other: str | NameForms) -> NameForms:
    """The name read with another spelling of it that the same record gives.

    A record often holds the name twice: in Hangul and romanized. The Hangul is the more exact
    of the two, and where they agree (some reading of one is a reading of the other) it stays
    the only reading. Where they disagree, one of them was mistyped or misheard and the record
    does not say which: a vowel slipped in the Hangul (김순희 beside "Kim Seon-hui"), a syllable
    misheard by whoever romanized it. Then the other spelling's reading nearest the name
    becomes its second reading, so the record blocks and compares on both, and its Hangul is no
    longer taken as exact (two Hangul spellings one syllable apart would otherwise count as
    different names whatever the romanization says). An other spelling with no reading, or
    with no surname where the name has one, adds nothing.
    """
    of = other if isinstance(other, NameForms) else normalise_name(other)
    if not forms.readings or not of.readings:
        return forms
    _ra, rb, total, _s, _g = _best(forms, of)
    if total >= 1.0:
        return forms
    if forms.readings[0].surname and not rb.surname:
        # "Sun-hui" alone beside 김선희: a given name is not a second reading of a full name.
        complete = [r for r in of.readings if r.surname]
        if not complete:
            return forms
        rb = max(complete, key=lambda r: _compare(forms.readings[0], r)[0])
    readings = (forms.readings[0], rb, *(r for r in forms.readings[1:] if r != rb))
    return NameForms(
        text=forms.text,
        script=forms.script,
        hangul=forms.hangul,
        jamo=forms.jamo,
        latin=forms.latin,
        readings=readings[:MAX_READINGS],
        other=f"{forms.other} / {of.text}" if forms.other else of.text,
    )


# --- comparing -----------------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def syllable_similarity(a: Syl, b: Syl) -> float:
    """Similarity of two syllable codes in [0, 1]; 1.0 when they may be the same syllable."""
    if not a.vowels or not b.vowels:
        return 1.0 if a == b else 0.0
    if a.vowels & b.vowels:
        vowel = 1.0
    elif {VOWEL_CLASS[v] for v in a.vowels} & {VOWEL_CLASS[v] for v in b.vowels}:
        vowel = NEAR_VOWEL
    else:
        vowel = 0.0
    return W_INITIAL * (a.initial == b.initial) + W_VOWEL * vowel + W_FINAL * (a.final == b.final)


def _align(a: tuple[Syl, ...], b: tuple[Syl, ...]) -> float:
    """Best order-preserving alignment: the summed similarity of aligned syllables."""
    if len(a) == len(b):
        diagonal = sum(syllable_similarity(x, y) for x, y in zip(a, b, strict=True))
        if diagonal == len(a):
            return diagonal
    row = [0.0] * (len(b) + 1)
    for x in a:
        prev_diag, row[0] = row[0], 0.0
        for j, y in enumerate(b, 1):
            best = max(row[j], row[j - 1], prev_diag + syllable_similarity(x, y))
            prev_diag, row[j] = row[j], best
    return row[-1]


def _compare(a: Reading, b: Reading) -> tuple[float, float | None, float | None]:
    if a.surname and b.surname:
        s_len, g_len = max(len(a.surname), len(b.surname)), max(len(a.given), len(b.given))
        s, g = _align(a.surname, b.surname), _align(a.given, b.given)
        if s < s_len:  # a different surname is a different family, however alike it sounds
            s *= SURNAME_MISMATCH
        total = (s + g) / (s_len + g_len)
        return total, s / s_len, (g / g_len if g_len else None)
    sa, sb = a.syllables, b.syllables
    return _align(sa, sb) / max(len(sa), len(sb), 1), None, None


def _best(
    fa: NameForms, fb: NameForms
) -> tuple[Reading, Reading, float, float | None, float | None]:
    """The best-agreeing pair of readings; the first of equal pairs, so preferred readings win."""
    best: tuple[Reading, Reading, float, float | None, float | None] | None = None
    for ra, rb in product(fa.readings, fb.readings):
        total, s, g = _compare(ra, rb)
        if best is None or total > best[2]:
            best = (ra, rb, round(total, 6), s, g)
            if total >= 1.0:
                break
    if best is None:
        raise ValueError("both names need readings")
    return best


def explain_name_match(a: str | NameForms, b: str | NameForms) -> NameMatch:
    """Compare two names and say which parts agreed."""
    fa = a if isinstance(a, NameForms) else normalise_name(a)
    fb = b if isinstance(b, NameForms) else normalise_name(b)
    if fa.readings and fb.readings:
        ra, rb, total, s, g = _best(fa, fb)
        reasons: list[str] = []
        if s is not None:
            reasons.append(f"surname {'agrees' if s == 1 else 'differs'} ({ra.surname_key})")
        if g is not None:
            reasons.append(f"given name {'agrees' if g == 1 else 'differs'} ({ra.given_key})")
        elif s is None:
            reasons.append("compared syllable by syllable: a surname is missing on one side")
        swapped = ra.swapped != rb.swapped
        if swapped:
            reasons.append("family and given name in opposite order")
        if fa.hangul and fa.hangul == fb.hangul:
            reasons.append("identical Hangul")
        return NameMatch(
            total, total == 1.0, "phonetic", s, g, swapped, ra.key, rb.key, tuple(reasons)
        )
    if fa.latin and fb.latin:
        # Not both Korean: plain string similarity, in written and in sorted word order.
        pairs = [(fa.latin, fb.latin), (_sorted(fa.latin), _sorted(fb.latin))]
        score = round(max(SequenceMatcher(None, x, y).ratio() for x, y in pairs), 6)
        reason = "compared as plain strings: not both read as Korean names"
        return NameMatch(
            score, fa.latin == fb.latin, "string", None, None, False, fa.latin, fb.latin, (reason,)
        )
    return NameMatch(
        0.0,
        False,
        "none",
        None,
        None,
        False,
        fa.latin,
        fb.latin,
        ("nothing comparable: a name is empty or in an unsupported script",),
    )


def _sorted(text: str) -> str:
    return " ".join(sorted(text.split()))


def name_similarity(a: str | NameForms, b: str | NameForms) -> float:
    """Similarity of two names in [0, 1]; 1.0 when they are the same under some reading."""
    fa = a if isinstance(a, NameForms) else normalise_name(a)
    fb = b if isinstance(b, NameForms) else normalise_name(b)
    if fa.readings and fb.readings:
        return _best(fa, fb)[2]  # the fast path: no explanation
    return explain_name_match(fa, fb).score


def same_name(a: str | NameForms, b: str | NameForms) -> bool:
    """True when the two names are the same name under some reading of each."""
    return explain_name_match(a, b).equivalent
