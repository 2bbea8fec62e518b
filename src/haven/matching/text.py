"""Korean names in running text: which words of a document read as Korean syllables, and the
syllable sequences a name written across one to three of them would have.

A name in a statement may be written in Hangul (김선희, 김 선희, with a particle: 김선희는) or
romanized in any system the matcher reads (Kim Sun-hui, Gim Seon-hui, Kim Sŏn-hŭi, KIM Sun Hui,
Kimsunhui, Sun-hui Kim). Every such spelling reduces to one sequence of coarse syllable keys
("kim.son.hi": the ``n:`` token of :func:`haven.matching.names.normalise_name`), so a document is
scanned by reading each word once (:func:`~haven.matching.romanization.split_syllables`, the
surname table) and joining the readings of neighbouring words, in written order and with the last
word first (Western order). That costs a few microseconds a word, where running the full name
parser over every group of words of a long document would cost hundreds of milliseconds.

What it does not read: names in Cyrillic or Chinese characters (their readings need tables the
matcher does not have), and spellings with a typo (the name parser's repairs are not tried here).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from haven.matching.hangul import is_syllable, syllable_code
from haven.matching.romanization import ascii_fold, split_syllables
from haven.matching.surnames import BY_ROMAN

MAX_WORDS = 3  # a Korean name is written in one to three words
MAX_SEQUENCES = 8  # readings kept per word and per group of words
MAX_HANGUL = 6  # syllables in a run of Hangul looked at as one name
# Letters, with apostrophes (McCune–Reischauer aspiration: Ch'ŏl) and hyphens inside a word.
_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ‘`\-‐‑][^\W\d_]+)*")
# Between two words of one name: spaces, a comma ("KIM, Sun-hui") or a middle dot.
_JOINS = re.compile(r"[ \t\u00a0,·]*\n?[ \t\u00a0]*")


def clean(text: str) -> str:
    """NFKC, with format characters (zero-width spaces and joiners, direction marks) removed: a
    name split by an invisible character is still the name."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a document and how it reads as Korean syllables."""

    text: str
    start: int
    end: int
    script: str  # "latin", "hangul", "han" or "other"
    sequences: tuple[str, ...]  # coarse syllable keys joined by "." ("son.hi"), () if none

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper()


def _script(word: str) -> str:
    if word.isascii():
        return "latin"
    if all(is_syllable(ch) for ch in word):
        return "hangul"
    if all(0x4E00 <= ord(ch) <= 0x9FFF or 0x3400 <= ord(ch) <= 0x4DBF for ch in word):
        return "han"
    if all(ch.isascii() or 0xC0 <= ord(ch) <= 0x24F or 0x1E00 <= ord(ch) <= 0x1EFF for ch in word):
        return "latin"
    return "other"


@lru_cache(maxsize=1 << 15)
def word_sequences(word: str) -> tuple[str, ...]:
    """The ways one written word reads as Korean syllables, as coarse keys: every split of each
    of its parts (Sun-hui: sun + hui) combined, and a listed surname's readings (Choe: 최)."""
    script = _script(word)
    if script == "hangul":
        return (".".join(syllable_code(ch).key for ch in word),)
    if script != "latin":
        return ()
    folded = ascii_fold(word)
    chunks = folded.split()
    found: dict[str, None] = {}
    surnames = BY_ROMAN.get("".join(chunks))
    if surnames:
        for hangul in surnames:
            found[".".join(syllable_code(ch).key for ch in hangul)] = None
    per_chunk = [split_syllables(chunk) for chunk in chunks]
    if chunks and all(per_chunk):
        for parts in product(*per_chunk):
            found[".".join(s.key for part in parts for s in part)] = None
            if len(found) >= MAX_SEQUENCES:
                break
    return tuple(found)


def words(text: str) -> list[Word]:
    """The words of ``text`` (cleaned with :func:`clean` first), with their readings."""
    found = []
    for match in _WORD.finditer(text):
        word = match.group()
        found.append(Word(word, match.start(), match.end(), *_read(word)))
    return found


@lru_cache(maxsize=1 << 15)
def _read(word: str) -> tuple[str, tuple[str, ...]]:
    return _script(word), word_sequences(word)


def runs(text: str, found: list[Word]) -> list[list[Word]]:
    """Groups of neighbouring words that one name could span: broken by any punctuation but a
    comma or a middle dot, and by an empty line."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in found:
        if current and not _JOINS.fullmatch(text, current[-1].end, word.start):
            groups.append(current)
            current = []
        current.append(word)
    if current:
        groups.append(current)
    return groups


def _joined(parts: list[tuple[str, ...]]) -> list[str]:
    out = []
    for combo in product(*parts):
        out.append(".".join(combo))
        if len(out) >= MAX_SEQUENCES:
            break
    return out


def name_sequences(text: str, found: list[Word] | None = None) -> Iterator[tuple[str, int, int]]:
    """(syllable sequence, start, end) of every group of one to three neighbouring words that
    all read as Korean syllables, in written order and, for two or three words, with the last
    word first ("Sun-hui Kim" reads as "kim.son.hi"). Hangul is read by :func:`hangul_forms`."""
    found = words(text) if found is None else found
    for run in runs(text, found):
        for i in range(len(run)):
            for n in range(1, MAX_WORDS + 1):
                group = run[i : i + n]
                if len(group) < n or not all(w.sequences and w.script == "latin" for w in group):
                    break
                start, end = group[0].start, group[-1].end
                for sequence in _joined([w.sequences for w in group]):
                    yield sequence, start, end
                if n > 1:
                    rotated = [group[-1], *group[:-1]]
                    for sequence in _joined([w.sequences for w in rotated]):
                        yield sequence, start, end


_HANGUL_RUN = re.compile("[\uac00-\ud7a3]+(?: [\uac00-\ud7a3]+)*")


def hangul_runs(text: str) -> Iterator[tuple[str, list[int]]]:
    """Runs of Hangul syllables, single spaces between them removed ("김 선희" is one run), with
    the position in ``text`` of each syllable."""
    for match in _HANGUL_RUN.finditer(text):
        base = match.start()
        found = match.group()
        where = [base + i for i, ch in enumerate(found) if ch != " "]
        yield found.replace(" ", ""), where


def hangul_forms(text: str, *, longest: int = MAX_HANGUL) -> Iterator[tuple[str, str, int, int]]:
    """("hangul", substring, start, end) and ("seq", its syllable keys, start, end) for every
    stretch of two to ``longest`` syllables of Hangul: a name inside a word (김선희는, 탈북민김선희),
    or spaced (김 선희), is found whatever particle follows it."""
    for run, where in hangul_runs(text):
        keys = [syllable_code(ch).key for ch in run]
        for i in range(len(run)):
            for n in range(2, longest + 1):
                if i + n > len(run):
                    break
                start, end = where[i], where[i + n - 1] + 1
                yield "hangul", run[i : i + n], start, end
                yield "seq", ".".join(keys[i : i + n]), start, end
