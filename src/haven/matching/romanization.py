"""Romanizing Hangul names (Revised, McCune–Reischauer, North Korean) and parsing romanizations back.

Generators follow each system's rules for personal names closely enough to produce realistic
variants; they do not apply cross-syllable sound changes except McCune–Reischauer voicing.
No package on PyPI romanizes in McCune–Reischauer or the North Korean system, hence these.

The parser is deliberately lenient: it accepts the union of all systems and popular spellings
(a syllable *inventory* of about 14,000 spellings built from the tables below) and splits a
joined given name into syllables by dynamic programming, keeping every split with the fewest
syllables ("Kyongae" is 경애 or 견개) so that matching can try each.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import product
from typing import Literal

from haven.matching.hangul import VOWELS, Syl, fold, is_syllable, split_syllable, table

System = Literal["rr", "mr", "nk"]

# --- generating ----------------------------------------------------------------------------

_RR_INITIAL = table("g kk n d tt r m b pp s ss . j jj ch k t p h")
_RR_VOWEL = table("a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i")
_FINAL = table(". k k k n n n t l k m l l l p l m p p t t ng t t k t p t")
# McCune–Reischauer: unvoiced at the start of a word, voiced between voiced sounds.
_MR_INITIAL = table("k kk n t tt r m p pp s ss . ch tch ch' k' t' p' h")
_MR_VOICED = {0: "g", 3: "d", 7: "b", 12: "j"}
_MR_VOWEL = table("a ae ya yae ŏ e yŏ ye o wa wae oe yo u wŏ we wi yu ŭ ŭi i")
# North Korean official system (1992/2002): aspirates written with h, ㅈ as j, voicing as MR.
_NK_INITIAL = table("k kk n t tt r m p pp s ss . j jj ch kh th ph h")
_NK_VOICED = {0: "g", 3: "d", 7: "b"}


def romanize_word(
    word: str,
    system: System = "rr",
    *,
    breves: bool = True,
    apostrophes: bool = True,
    sep: str = "",
) -> str:
    """Romanize one Hangul word (a surname or a given name), lower case.

    ``sep`` goes between syllables ("-" for Chin-sŏng, " " for North Korean "Sol Ju"). For
    McCune–Reischauer and the North Korean system, ``breves=False`` writes ŏ/ŭ as o/u and
    ``apostrophes=False`` drops the aspiration marks. Non-Hangul characters are dropped.
    """
    parts: list[str] = []
    previous_final = -1  # -1: start of the word
    for ch in word:
        if not is_syllable(ch):
            continue
        i, v, f = split_syllable(ch)
        if system == "rr":
            initial, vowel = _RR_INITIAL[i], _RR_VOWEL[v]
        else:
            initials, voiced = (
                (_MR_INITIAL, _MR_VOICED) if system == "mr" else (_NK_INITIAL, _NK_VOICED)
            )
            initial, vowel = initials[i], _MR_VOWEL[v]
            # Voicing after a vowel or a nasal; after ㄹ only ㄱ voices (ㄹ+ㅈ stays ch: Sŏl-chu).
            if previous_final >= 0 and i in voiced:
                sound = _FINAL[previous_final]
                if sound in ("", "n", "m", "ng") or (sound == "l" and i == 0):
                    initial = voiced[i]
            if system == "mr" and i == 9 and VOWELS[v] in "ㅣㅟ":
                initial = "sh"
        parts.append(initial + vowel + _FINAL[f])
        previous_final = f
    text = sep.join(parts)
    if not breves:
        text = text.replace("ŏ", "o").replace("ŭ", "u")
    if not apostrophes:
        text = text.replace("'", "")
    return text


def romanize_name(
    surname: str,
    given: str,
    system: System = "rr",
    *,
    breves: bool = True,
    apostrophes: bool = True,
    sep: str | None = None,
    surname_last: bool = False,
) -> str:
    """Romanize a name as a person would write it: "Chang Chin-sŏng", "Ri Sol Ju", "Gim Seonhui".

    By default given-name syllables are joined for Revised Romanization, hyphenated for
    McCune–Reischauer and spaced for the North Korean system.
    """
    if sep is None:
        sep = {"rr": "", "mr": "-", "nk": " "}[system]
    family = romanize_word(surname, system, breves=breves, apostrophes=apostrophes)
    words = romanize_word(given, system, breves=breves, apostrophes=apostrophes, sep=sep)
    family = family.capitalize()
    first = " ".join(w.capitalize() for w in words.split(" "))
    return f"{first} {family}" if surname_last else f"{family} {first}"


# --- parsing -------------------------------------------------------------------------------

# Spellings of each consonant class across RR, MR, the North Korean system and popular use.
_INITIAL_SPELLINGS = {
    "k": ("k", "g", "kk", "gg", "kh"),
    "t": ("t", "d", "tt", "dd", "th"),
    "p": ("p", "b", "pp", "bb", "ph", "f"),
    "j": ("j", "ch", "jj", "tch", "ts", "tj", "chh"),
    "s": ("s", "ss", "sh"),
    "h": ("h",),
    "m": ("m",),
    "n": ("n",),
    "r": ("r", "l", "rh"),
    "": ("",),
}


def _v(chars: str) -> frozenset[int]:
    return frozenset(VOWELS.index(c) for c in chars)


# Vowel spellings (after ŏ→eo, ŭ→eu) and the Hangul vowels each may stand for. Ambiguity is
# kept rather than guessed: "u" is ㅜ (RR), ㅡ (MR without breve) or ㅓ (Sung, Jung).
_VOWEL_SPELLINGS: dict[str, frozenset[int]] = {
    "a": _v("ㅏ"),
    "ah": _v("ㅏ"),
    "ae": _v("ㅐㅔ"),
    "e": _v("ㅔㅐ"),
    "eh": _v("ㅔㅐ"),
    "ya": _v("ㅑ"),
    "yae": _v("ㅒㅖ"),
    "ye": _v("ㅖㅒ"),
    "yeh": _v("ㅖㅒ"),
    "eo": _v("ㅓ"),
    "uh": _v("ㅓ"),
    "o": _v("ㅗㅓ"),
    "oh": _v("ㅗ"),
    "u": _v("ㅜㅡㅓ"),
    "oo": _v("ㅜ"),
    "ou": _v("ㅜㅓㅗ"),
    "woo": _v("ㅜ"),
    "wu": _v("ㅜ"),
    "eu": _v("ㅡ"),
    "yeo": _v("ㅕ"),
    "yuh": _v("ㅕ"),
    "yo": _v("ㅛㅕ"),
    "yu": _v("ㅠㅕ"),
    "yoo": _v("ㅠ"),
    "you": _v("ㅠㅕㅛ"),
    "wa": _v("ㅘ"),
    "oa": _v("ㅘ"),
    "wae": _v("ㅙㅚㅞ"),
    "oe": _v("ㅚㅙㅞ"),
    "we": _v("ㅞㅙㅚ"),
    "oi": _v("ㅚㅙㅞ"),
    "oy": _v("ㅚㅙㅞ"),
    "wo": _v("ㅝ"),
    "weo": _v("ㅝ"),
    "wi": _v("ㅟ"),
    "wee": _v("ㅟ"),
    "ui": _v("ㅢ"),
    "eui": _v("ㅢ"),
    "i": _v("ㅣㅢ"),
    "ee": _v("ㅣㅢ"),
    "yi": _v("ㅣㅢ"),
}
_FINAL_SPELLINGS = {
    "": "",
    "k": "k",
    "g": "k",
    "n": "n",
    "t": "t",
    "l": "l",
    "m": "m",
    "p": "p",
    "b": "p",
    "ng": "ng",
}


# Vowel spellings that also read as two syllables (Sou: 서우 or 수) and are rare inside one
# syllable; a split using them costs as much as one more syllable, so both splits are kept.
_AMBIGUOUS_VOWELS = frozenset({"oi", "oy", "oa", "ou"})


def _cost(initial: str, vowel: str, final: str) -> int:
    if vowel in _AMBIGUOUS_VOWELS:
        return 2
    # ㅢ is common in names only as 희; elsewhere "ui" is as likely 우+이 (Suil: 수일, Uil: 우일).
    if vowel in ("ui", "eui") and (initial != "h" or final):
        return 2
    return 1


def _build_inventory() -> dict[str, tuple[int, tuple[Syl, ...]]]:
    found: dict[str, tuple[int, set[Syl]]] = {}
    for cls, spellings in _INITIAL_SPELLINGS.items():
        for initial, (vowel, vowels), (final, final_cls) in product(
            spellings, _VOWEL_SPELLINGS.items(), _FINAL_SPELLINGS.items()
        ):
            cost, codes = found.get(initial + vowel + final, (2, set()))
            codes.add(fold(cls, vowels, final_cls))
            found[initial + vowel + final] = (min(cost, _cost(initial, vowel, final)), codes)
    inventory: dict[str, tuple[int, tuple[Syl, ...]]] = {}
    for spelling, (cost, codes) in found.items():
        # Merge readings that differ only in the vowel set ("yu" reached as y+u and as yu).
        merged: dict[tuple[str, str], frozenset[int]] = {}
        for code in codes:
            merged[code.initial, code.final] = merged.get((code.initial, code.final), frozenset())
            merged[code.initial, code.final] |= code.vowels
        inventory[spelling] = (cost, tuple(sorted(Syl(i, v, f) for (i, f), v in merged.items())))
    return inventory


INVENTORY = _build_inventory()
_LONGEST = max(map(len, INVENTORY))
MAX_SPLITS = 6  # alternative syllable splits kept per chunk

_BREVE = str.maketrans({"ŏ": "eo", "ǒ": "eo", "ô": "eo", "ŭ": "eu", "ǔ": "eu", "û": "eu"})
_APOSTROPHES = "'’‘ʼ`´ʻ"
_ASPIRATE_MARK = re.compile(rf"(?<=[kpth])[{_APOSTROPHES}]")  # k' t' p' ch'
_NON_LETTER = re.compile(r"[^a-z]+")


# Called per word, and name words repeat a great deal. Small: entries made all through a run
# each pin a 16 KiB pool of resident memory.
@lru_cache(maxsize=1 << 10)
def ascii_fold(text: str) -> str:
    """Lower-case ASCII form of a romanized word: ŏ→eo, ŭ→eu, MR aspiration marks dropped, other
    apostrophes, hyphens and accents turned into syllable breaks (spaces) or removed."""
    text = _ASPIRATE_MARK.sub("", text.lower().translate(_BREVE))
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_LETTER.sub(" ", text).strip()


@lru_cache(maxsize=16384)
def split_syllables(chunk: str) -> tuple[tuple[Syl, ...], ...]:
    """The likeliest readings of a lower-case ASCII chunk (at most MAX_SPLITS).

    Likeliest means fewest syllables, a rare vowel spelling counting as one syllable more.
    Returns ``()`` when the chunk is not a sequence of Korean syllables in any system.
    """
    n = len(chunk)
    best: list[tuple[int, list[tuple[Syl, ...]]] | None] = [None] * (n + 1)
    best[n] = (0, [()])
    for i in range(n - 1, -1, -1):
        here: tuple[int, list[tuple[Syl, ...]]] | None = None
        for j in range(i + 1, min(n, i + _LONGEST) + 1):
            entry = INVENTORY.get(chunk[i:j])
            rest = best[j]
            if entry is None or rest is None:
                continue
            cost = rest[0] + entry[0]
            if here is None or cost < here[0]:
                here = (cost, [])
            if cost == here[0]:
                for code in entry[1]:
                    for tail in rest[1]:
                        reading = (code, *tail)
                        if len(here[1]) < MAX_SPLITS and reading not in here[1]:
                            here[1].append(reading)
        best[i] = here
    result = best[0]
    return tuple(result[1]) if result else ()
