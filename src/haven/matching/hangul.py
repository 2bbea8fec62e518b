"""Hangul arithmetic: syllable decomposition, the initial-sound rule and the phonetic syllable code.

A precomposed syllable U+AC00..U+D7A3 is ``0xAC00 + (initial * 21 + vowel) * 28 + final``, so
decomposition needs no table beyond the 19 initials, 21 vowels and 28 finals (0 = none).

The comparison unit is :class:`Syl`, a coarse phonetic code shared by Hangul and every
romanization: consonants are merged where romanizations disagree (plain/aspirated/tense, voiced
or not: k/g/kk/kh are one class), the initial-sound rule is folded (ㄹ→ㄴ, and ㄹ/ㄴ before i/y
vowels → silent) so that North Korean 리/류/림/로 equal South Korean 이/유/임/노, and the vowel is
kept as a *set* of possible Hangul vowels: one for Hangul, several for an ambiguous spelling
("u" may be ㅜ, ㅡ or ㅓ). Two syllables are compatible when their vowel sets intersect.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

SYLLABLE_FIRST = 0xAC00
SYLLABLE_LAST = 0xD7A3

INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
FINALS = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")


def table(spec: str) -> tuple[str, ...]:
    """A space-separated table where "." stands for the empty string."""
    return tuple("" if item == "." else item for item in spec.split())


# Consonant classes: what survives every romanization (voicing, aspiration and tenseness do not).
INITIAL_CLASS = table("k k n t t r m p p s s . j j j k t p h")
# Finals as pronounced at the end of a syllable (the seven representative sounds).
FINAL_CLASS = table(". k k k n n n t l k m l l l p l m p p t t ng t t k t p t")
# Vowel classes for the coarse key. ㅓ/ㅗ/ㅜ/ㅡ share one class because McCune–Reischauer without
# breves and popular spellings write ㅓ as o or u (Chong, Jung) and ㅡ as u (Kum); ㅐ/ㅔ and
# ㅙ/ㅚ/ㅞ sound alike in Seoul speech; ㅢ is written i/ee in popular spellings (Sunhee).
VOWEL_CLASS = table("a e ya ye o e yo ye o wa we we yo o wo we wi yo o i i")
# Vowels before which the initial-sound rule drops ㄹ and ㄴ (이, 야, 여, 예, 요, 유, 얘 and 의).
I_VOWELS = frozenset(VOWELS.index(v) for v in "ㅣㅑㅕㅖㅛㅠㅒㅢ")

_L_JAMO = INITIALS.index("ㄹ")
_N_JAMO = INITIALS.index("ㄴ")
_ZERO_JAMO = INITIALS.index("ㅇ")


class Syl(NamedTuple):
    """One syllable's comparison code: consonant class, possible vowels, final class.

    A syllable whose reading is unknown (a Chinese character) has an empty vowel set and the
    character itself as ``initial``; it is compatible only with the same character.
    """

    initial: str
    vowels: frozenset[int]
    final: str

    @property
    def key(self) -> str:
        """Coarse key of the syllable, e.g. ``"kim"`` for 김, ``"son"`` for 선 and 순."""
        return _key(self)


@lru_cache(maxsize=1 << 14)
def _key(syl: Syl) -> str:
    if not syl.vowels:
        return syl.initial
    return f"{syl.initial}{min(VOWEL_CLASS[v] for v in syl.vowels)}{syl.final}"


def is_syllable(ch: str) -> bool:
    """True for a precomposed Hangul syllable (가..힣)."""
    return SYLLABLE_FIRST <= ord(ch) <= SYLLABLE_LAST


def split_syllable(ch: str) -> tuple[int, int, int]:
    """Indexes (initial, vowel, final) of a precomposed syllable; final 0 means none."""
    offset = ord(ch) - SYLLABLE_FIRST
    return offset // 588, (offset % 588) // 28, offset % 28


def join_syllable(initial: int, vowel: int, final: int = 0) -> str:
    """The precomposed syllable for jamo indexes (the inverse of :func:`split_syllable`)."""
    return chr(SYLLABLE_FIRST + (initial * 21 + vowel) * 28 + final)


def to_jamo(text: str) -> str:
    """Decompose Hangul syllables into compatibility jamo (김 → ㄱㅣㅁ); other characters stay."""
    out: list[str] = []
    for ch in text:
        if is_syllable(ch):
            i, v, f = split_syllable(ch)
            out.append(INITIALS[i] + VOWELS[v] + FINALS[f])
        else:
            out.append(ch)
    return "".join(out)


def fold(initial: str, vowels: frozenset[int], final: str) -> Syl:
    """Build a :class:`Syl`, folding the initial-sound rule (두음법칙) in both directions.

    The fold is applied in every position, not only word-initially: North Korean spelling keeps
    ㄹ/ㄴ everywhere (룡, 렬), romanizations follow either spelling, and a name syllable that
    differs only in ㄹ/ㄴ/ㅇ before the same vowel is far more often one name than two.
    """
    if initial == "r":
        initial = "n"
    if initial == "n" and vowels and vowels <= I_VOWELS:
        initial = ""
    return Syl(initial, vowels, final)


@lru_cache(maxsize=1 << 14)
def syllable_code(ch: str) -> Syl:
    """The comparison code of one precomposed Hangul syllable."""
    i, v, f = split_syllable(ch)
    return fold(INITIAL_CLASS[i], frozenset((v,)), FINAL_CLASS[f])


def south_form(word: str) -> str:
    """Apply the South Korean initial-sound rule to the first syllable: 리→이, 류→유, 로→노, 녀→여."""
    if not word or not is_syllable(word[0]):
        return word
    i, v, f = split_syllable(word[0])
    if i == _L_JAMO:
        i = _ZERO_JAMO if v in I_VOWELS else _N_JAMO
    elif i == _N_JAMO and v in I_VOWELS:
        i = _ZERO_JAMO
    return join_syllable(i, v, f) + word[1:]


def north_forms(word: str) -> tuple[str, ...]:
    """Spellings of a word whose first syllable may have lost ㄹ/ㄴ: 이 → (이, 리, 니), 노 → (노, 로).

    The rule is not invertible, so every candidate is returned, the word as given first.
    """
    if not word or not is_syllable(word[0]):
        return (word,)
    i, v, f = split_syllable(word[0])
    rest = word[1:]
    if i == _ZERO_JAMO and v in I_VOWELS:
        return (word, join_syllable(_L_JAMO, v, f) + rest, join_syllable(_N_JAMO, v, f) + rest)
    if i == _N_JAMO and v not in I_VOWELS:
        return (word, join_syllable(_L_JAMO, v, f) + rest)
    return (word,)
