"""Keyed encodings of match records: Bloom filters (CLK-style) and blind tokens, in numpy arrays.

Every value a record holds becomes either

* a **Bloom filter**: the value's n-grams, each hashed to ``hashes`` bit positions of a
  ``bits``-long array (double hashing from one keyed 256-bit digest per n-gram). Two filters are
  compared by their Dice coefficient, so a typo or another romanization costs a few bits instead of
  the whole field; or
* a **token**: a keyed 64-bit hash of the exact value (0 means "unknown"), compared by equality.

The keyed hash comes from :mod:`haven.crypto` as a closure (``IndexKey.keyed_hasher`` or
``LinkageSecret.keyed_hasher``): this module never sees a key. :func:`clear_hasher` is an
*unkeyed* stand-in for tests and for measuring what the keying costs; its output is not private.

Work is done once per distinct value and once per distinct n-gram (names repeat a lot), then
gathered into rows with numpy, so a million records encode in seconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, combinations
from typing import Literal, cast

import numpy as np
import numpy.typing as npt

from haven.matching.hangul import VOWEL_CLASS, Syl, south_form
from haven.matching.names import UNREAD, NameForms, Reading, is_unread
from haven.matching.occupations import occupation_category
from haven.matching.places import place_of
from haven.matching.records import Birth, MatchRecord

Hasher = Callable[[bytes], bytes]
HasherFactory = Callable[[str], Hasher]  # purpose -> keyed hash (e.g. IndexKey.keyed_hasher)
U64 = npt.NDArray[np.uint64]

# 2: the birth month token (birth.m); 3: a phonetic filter per reading; 4: the one-edit
# neighbourhood of the readings' spelling (name.edits) and its blocking pass; the name as
# written no longer blocks a name that reads as Korean; 5: origin as a place (town, province,
# historic region), occupation as written and its category, the birth date's day-month swap
# and lunar-offset window tokens; 6: a romanized name that disagrees with the Hangul is the
# name's second reading (names.with_other_spelling), and that Hangul gets no exact filter
ENCODING_VERSION = 6
MAX_READINGS_ENCODED = 2  # each its own filter; further readings are rarely the right one
MAX_BLOCK_TOKENS = 32
_ODD = np.uint64(0x9E3779B97F4A7C15)
MAX_WORDS = 4
EDIT_READINGS = 2
EDIT_PER_READING = 12
EDIT_SLOTS = EDIT_READINGS * EDIT_PER_READING


@dataclass(frozen=True, slots=True)
class BloomSpec:
    """Size of one Bloom filter and how many bit positions each n-gram sets."""

    bits: int
    hashes: int

    @property
    def words(self) -> int:
        """64-bit words per filter."""
        return self.bits // 64


# Sizes keep filters sparse (a name sets about a tenth of the bits), so that chance collisions
# barely move a Dice score. The Korean phonetic form of the name (syllables, surname), the name as
# written (character bigrams of its Latin form: non-Korean names and a fallback), the exact Hangul
# (so that 선 and 순 differ when both sides wrote Hangul), and any further free-text field.
BLOOMS: dict[str, BloomSpec] = {
    "name.phonetic": BloomSpec(1024, 8),
    "name.phonetic.alt": BloomSpec(1024, 8),
    "name.text": BloomSpec(512, 8),
    "name.hangul": BloomSpec(512, 6),
    # Not a Bloom filter: EDIT_SLOTS keyed 32-bit tokens (two to a word, 0 unused), the one-edit
    # neighbourhood of the name's readings (see edit_grams); compared by whether they meet.
    "name.edits": BloomSpec(EDIT_SLOTS * 32, 0),
}
EXTRA_BLOOM = BloomSpec(256, 8)
# Fields compared for equality, one token each.
EXACT_TOKENS = ("sex", "group", "broker")
# The origin as a place (see haven.matching.places): the town (or, for a place the tables do
# not know, the cleaned text), the province, the historic region; 0 where not known.
ORIGIN_TOKENS = ("origin.place", "origin.province", "origin.region")
# The occupation as written (cleaned) and its category (haven.matching.occupations; 0 for
# "other" and "unknown", which say nothing about the kind of work).
OCCUPATION_TOKENS = ("occupation", "occupation.kind")
# birth.m (the month alone) tells "a year apart, month differs" (two people) from a mistyped
# year (a year apart, same month). birth.swap is the date with day and month exchanged (hashed
# like birth.ymd, compared with the other side's). The window tokens find two dates 20 to 50
# days apart, a lunar date beside the solar one (see _window_values).
BIRTH_TOKENS = ("birth.ymd", "birth.ym", "birth.md", "birth.y", "birth.y2a", "birth.y2b", "birth.m")
WINDOW_GRIDS = 4
WINDOW_WIDTH = 20  # days per bucket; grids offset by WINDOW_WIDTH / WINDOW_GRIDS
LUNAR_SHIFT = 35  # days a lunar date is written before the solar one (20 to 50)
WINDOW_TOKENS = (
    *(f"birth.w{k}" for k in range(WINDOW_GRIDS)),
    *(f"birth.s{k}" for k in range(WINDOW_GRIDS)),
)
TOKEN_FIELDS = (
    *EXACT_TOKENS,
    *ORIGIN_TOKENS,
    *OCCUPATION_TOKENS,
    *BIRTH_TOKENS,
    "birth.swap",
    *WINDOW_TOKENS,
)
# The compared fields that are not the name or the birth date, in level-matrix order.
TOKENS = ("sex", "origin", "occupation", "group", "broker")


def clear_hasher(purpose: str) -> Hasher:
    """An UNKEYED hash for ``purpose``: for tests and the clear-value baseline, never for storage."""
    prefix = purpose.encode() + b"\x00"

    def hasher(value: bytes) -> bytes:
        return hashlib.blake2b(prefix + value, digest_size=32).digest()

    return hasher


@dataclass(slots=True)
class EncodedTable:
    """The encodings of a list of records, one row per record, as the matcher consumes them.

    ``blooms`` maps a field to an (n, words) uint64 array; ``tokens`` maps a field to an (n,)
    uint64 array (0: unknown); ``block_rows``/``block_tokens`` list each record's blocking tokens.
    ``records`` is set only when the table was made from clear records in this process: the
    matcher then compares names with the full Korean name rules instead of Bloom filters.
    """

    ids: list[str]
    blooms: dict[str, U64]
    tokens: dict[str, U64]
    block_rows: npt.NDArray[np.int64]
    block_tokens: U64
    extra_fields: tuple[str, ...] = ()
    records: Sequence[MatchRecord] | None = field(default=None, repr=False)
    _popcounts: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict, repr=False)
    _frequency: npt.NDArray[np.float64] | None = field(default=None, repr=False)
    _groups: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = field(
        default=None, repr=False
    )

    def __len__(self) -> int:
        return len(self.ids)

    def name_frequency(self) -> npt.NDArray[np.float64]:
        """For each record, the share of the table's *other* records holding the same name (the
        same phonetic filter, or the same written-form filter for a name that is not Korean):
        how likely a random other record is to share it, at least 1/n. The record itself is not
        counted: a name seen twice in a table where people are recorded twice is most often
        one person's, and counting both records made every such pair look like a common
        name's."""
        if self._frequency is None:
            group, counts = self.name_groups()
            others = np.maximum(counts[group] - 1, 1)
            self._frequency = others.astype(np.float64) / max(len(self), 1)
        return self._frequency

    def name_groups(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Records grouped by name (the same phonetic filter, or the same written-form filter
        for a name that is not Korean): each record's group and each group's size."""
        if self._groups is None:
            korean = self.popcounts("name.phonetic") > 0
            rows = np.where(korean[:, None], self.blooms["name.phonetic"], 0).astype(np.uint64)
            text = self.blooms["name.text"]
            rows[~korean, : text.shape[1]] = text[~korean]
            weights = np.arange(1, rows.shape[1] + 1, dtype=np.uint64) * _ODD
            with np.errstate(over="ignore"):  # a hash of the row: wrapping is intended
                h = (rows * weights).sum(axis=1, dtype=np.uint64)
            _u, inverse, counts = np.unique(h, return_inverse=True, return_counts=True)
            self._groups = (inverse.astype(np.int64).ravel(), counts.astype(np.int64))
        return self._groups

    def popcounts(self, name: str) -> npt.NDArray[np.int64]:
        """Set bits of each row's filter ``name`` (computed once per table)."""
        found = self._popcounts.get(name)
        if found is None:
            found = self._popcounts[name] = popcount(self.blooms[name])
        return found


# --- n-grams ---------------------------------------------------------------------------------


def _bigrams(text: str) -> list[str]:
    grams: list[str] = []
    for word in text.split():
        padded = f"_{word}_"
        grams.extend(padded[i : i + 2] for i in range(len(padded) - 1))
    return grams


def _encoded_readings(name: NameForms) -> list[Reading]:
    """The readings that get a phonetic filter of their own, likeliest first."""
    # A single romanized word read as a Korean given name ("Talia" as 달리아) would make too
    # many Western names equal: it is compared as written instead.
    usable = [r for r in name.readings if r.surname or name.hangul]
    return usable[:MAX_READINGS_ENCODED]


@lru_cache(maxsize=1 << 12)
def _vowel_gram(syl: Syl) -> str:
    # A few thousand syllable codes recur across all names: each gram is built once. The
    # codes come from names but hold no key, so a cache across batches is fine.
    return f"v:{syl.initial}{min(VOWEL_CLASS[v] for v in syl.vowels)}"


def reading_grams(reading: Reading) -> list[str]:
    """The Korean phonetic n-grams of one reading of a name.

    Each syllable code, and each pair of neighbouring syllables taken *cyclically* (the last
    with the first): "Kim Jae Sang" and "Jae Sang KIM" rotate the same syllables, so they give
    the same grams, while a syllable changed by a typo or another spelling costs only its own
    grams.
    """
    # A chunk a typo broke (see names.unread) gives no syllable grams: the rest still compare.
    keys = [None if is_unread(s) else s.key for s in reading.syllables]
    grams: list[str] = []
    if reading.surname and not any(map(is_unread, reading.surname)):
        # A different surname is a different family: it costs more.
        grams.append("s:" + reading.surname_key)
    grams.extend("u:" + k for k in keys if k)
    # Initial and vowel without the final: a dropped or misheard final (Chŏl, Chŏ) still
    # shares this part of the syllable.
    grams.extend(_vowel_gram(s) for s in reading.syllables if s.vowels)
    if len(keys) > 1:
        grams.extend(
            f"c:{a}|{b}" for a, b in zip(keys, keys[1:] + keys[:1], strict=True) if a and b
        )
    # The broken chunk's letters: two names whose readable parts agree but whose broken chunks
    # differ ("Kim Kwang Sn", "Kim Kwang Jn") are not the same name.
    grams.extend("x:" + s.initial for s in reading.syllables if is_unread(s))
    return list(dict.fromkeys(grams))


def phonetic_grams(name: NameForms, reading: int = 0) -> list[str]:
    """The name's Korean phonetic n-grams under its ``reading``-th reading (empty if none).

    Each of the first readings gets a filter of its own and comparison takes the best pair:
    merged into one filter, the two splits of "Seokyeon" (석연, 서견) would leave the name only
    "alike" to 석연 written in Hangul.
    """
    readings = _encoded_readings(name)
    return reading_grams(readings[reading]) if reading < len(readings) else []


def reading_edits(reading: Reading) -> list[str]:
    """The one-edit neighbourhood (:func:`reading_edits_of`) of a reading's spelling."""
    return reading_edits_of(spelling(reading))


# How the letters of a chunk that reads as no syllable (a placeholder, see names.unread) are
# folded towards the keys' alphabet, so that "Ggm" is one letter from "kim" (Gim) and "Shnn"
# one from "sin" (Shin): digraphs first, then single letters.
_UNREAD_FOLDS = (
    ("ch", "j"), ("sh", "s"), ("kh", "k"), ("th", "t"), ("ph", "p"), ("ts", "j"),
    ("eo", "o"), ("eu", "o"), ("ae", "e"), ("ee", "i"), ("u", "o"),
    ("g", "k"), ("d", "t"), ("b", "p"), ("r", "n"), ("z", "j"), ("f", "p"),
)  # fmt: skip


@lru_cache(maxsize=1 << 12)
def _folded_unread(initial: str) -> str:
    text = initial.removeprefix(UNREAD).replace("ng", "\0")  # a final ㅇ stays "ng"
    for a, b in _UNREAD_FOLDS:
        text = text.replace(a, b)
    return text.replace("\0", "ng")


def spelling(reading: Reading) -> str:
    """The reading's syllable keys joined ("kimsonhi"), a placeholder's letters folded."""
    return "".join(
        [_folded_unread(s.initial) if is_unread(s) else s.key for s in reading.syllables]
    )


def reading_edits_of(text: str) -> list[str]:
    """The one-edit neighbourhood of a reading spelled in its syllable keys.

    The keys are joined ("kimsonhi"); the grams are that string and the string with each
    letter left out in turn. Two spellings one typo apart (a letter dropped, added, changed or
    two swapped: "kimsonhi" and "kisonhi", "kimsonho", "kimsnohi") share a gram; two letters
    apart, none. Joining the keys lets a typo that moves a syllable break ("Tae-il",
    "Ta-eil") cost one letter, not two syllables.
    """
    return [text, *(text[:k] + text[k + 1 :] for k in range(len(text)))]


def edit_grams(name: NameForms) -> list[list[str]]:
    """:func:`reading_edits` of each encoded reading (empty for a name that is not Korean)."""
    return [reading_edits(r) for r in _encoded_readings(name)]


def text_grams(name: NameForms) -> list[str]:
    """Character bigrams of the name as written (its Latin form, or the cleaned text)."""
    return _bigrams(name.latin or name.text.casefold())


def hangul_grams(name: NameForms) -> list[str]:
    """The exact Hangul syllables and syllable pairs (empty if the name has no Hangul).

    Each syllable is folded by the initial-sound rule first (리 → 이), so that North and South
    Korean spellings of one name agree while 연 and 윤 stay different.
    """
    if name.other:
        # The record's own romanization disagrees with this Hangul: it is not exact evidence.
        return []
    h = "".join(south_form(c) for c in name.hangul)
    if not h:
        return []
    # The whole name is a gram too, so that one differing syllable of three (김영철, 김영수)
    # leaves the names only "weakly alike".
    return (
        [f"w:{h}"] + [f"h:{c}" for c in h] + [f"p:{a}{b}" for a, b in zip(h, h[1:], strict=False)]
    )


# How a blocking pass combines a name key with the birth date: not at all, with a two-year
# bucket (two overlapping grids, so years one apart always share one), the year, or the date.
BlockPass = Literal["any", "bucket", "year", "date"]


def name_block_keys(name: NameForms) -> list[tuple[BlockPass, str]]:
    """The name's blocking keys, each with how it is combined with the birth date.

    Several passes, each tolerant of a different error: the whole phonetic name (any birth
    date); the given name with a two-year birth bucket (another surname spelling); the surname
    with the full birth date (another given name); the initials with the birth year; the name
    with one given syllable left out, with the birth year (a typo in that syllable); each
    written word's first four letters with the year and its initial with the date; for names
    that do not read as Korean, the name as written and pairs of word prefixes. A key shared
    by too many records is dropped by the blocker, so common names are covered by the narrower
    passes. The encoder adds one more (see :class:`_EditTokens`): the preferred reading's
    one-edit neighbourhood with the birth year and month.
    """
    keys: list[tuple[BlockPass, str]] = []
    for token in name.tokens:
        kind = token[0]
        if kind in ("n", "l"):
            keys.append(("any", token))
        elif kind == "g":
            keys.append(("bucket", token))
        elif kind == "s":
            keys.append(("date", token))
        elif kind in ("i", "o"):
            keys.append(("year", token))
    words = sorted(set((name.latin or name.text.casefold()).split()))[:MAX_WORDS]
    keys.extend(("year", f"w:{w[:4]}") for w in words)
    keys.extend(("date", f"d:{w[0]}") for w in words)
    if words and not any(r.surname for r in name.readings):
        keys.extend(("any", f"p:{a[:3]}|{b[:3]}") for a, b in combinations(words, 2))
    return list(dict.fromkeys(keys))[:MAX_BLOCK_TOKENS]


def block_keys(record: MatchRecord) -> list[str]:
    """A record's blocking keys in clear (for inspection and tests; the encoder hashes them)."""
    b = record.birth
    y = b.year
    out: list[str] = []
    for how, key in name_block_keys(record.name):
        if how == "any":
            out.append(key)
        elif how == "bucket" and y is not None:
            out.extend([f"{key}|{y // 2}a", f"{key}|{(y + 1) // 2}b"])
        elif how == "year" and y is not None:
            out.append(f"{key}|{y}")
        elif how == "date" and b.day is not None:
            out.append(f"{key}|{y}-{b.month}-{b.day}")
    return out


# --- hashing ---------------------------------------------------------------------------------


def _to_u64(digest: bytes) -> int:
    return int.from_bytes(digest[:8], "little") or 1  # 0 is reserved for "unknown"


class _GramHasher:
    """Keyed (h1, h2) per distinct n-gram, cached: each n-gram is hashed once per run."""

    def __init__(self, hasher: Hasher):
        self._hasher = hasher
        self._ids: dict[str, int] = {}
        self.pairs: list[tuple[int, int]] = []

    def ids(self, grams: Iterable[str]) -> list[int]:
        out: list[int] = []
        for gram in grams:
            i = self._ids.get(gram)
            if i is None:
                d = self._hasher(gram.encode())
                i = self._ids[gram] = len(self.pairs)
                self.pairs.append(
                    (int.from_bytes(d[:8], "little"), int.from_bytes(d[8:16], "little") | 1)
                )
            out.append(i)
        return out

    def flat_ids(self, values: Sequence[list[str]], total: int) -> npt.NDArray[np.int64]:
        """The ids of all of ``values``' grams, concatenated (``total`` of them).

        Each new gram is hashed in first-seen order (as :meth:`ids` would), then the ids are
        looked up by C-level ``map``: no Python frame per gram.
        """
        self.ids(dict.fromkeys(chain.from_iterable(values)))
        return np.fromiter(
            map(self._ids.__getitem__, chain.from_iterable(values)), dtype=np.int64, count=total
        )

    def positions(self, spec: BloomSpec) -> npt.NDArray[np.int64]:
        """(n_grams, hashes) bit positions by double hashing: (h1 + i*h2) mod bits."""
        pairs = np.array(self.pairs, dtype=np.uint64).reshape(-1, 2)
        steps = np.arange(spec.hashes, dtype=np.uint64)
        with np.errstate(over="ignore"):  # wrapping uint64 arithmetic is the point
            pos = pairs[:, :1] + steps[None, :] * pairs[:, 1:2]
        return (pos % np.uint64(spec.bits)).astype(np.int64)


def _bloom_rows(
    values: Sequence[list[str]], spec: BloomSpec, hasher: Hasher, chunk: int = 65536
) -> U64:
    """One Bloom filter row per entry of ``values`` (each a list of n-grams)."""
    grams = _GramHasher(hasher)
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    flat = grams.flat_ids(values, int(lengths.sum()))
    positions = grams.positions(spec) if len(flat) else np.zeros((0, spec.hashes), np.int64)
    owners = np.repeat(np.arange(len(values), dtype=np.int64), lengths)
    out = np.zeros((len(values), spec.words), dtype=np.uint64)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    for lo in range(0, len(values), chunk):
        hi = min(lo + chunk, len(values))
        a, b = starts[lo], starts[hi]
        bits = np.zeros((hi - lo, spec.bits), dtype=bool)
        rows = np.repeat(owners[a:b] - lo, spec.hashes)
        bits[rows, positions[flat[a:b]].ravel()] = True
        packed = np.packbits(bits, axis=1, bitorder="little")
        out[lo:hi] = packed.view(np.uint64)
    return out


def _factorize(values: Sequence[object]) -> tuple[npt.NDArray[np.int64], list[object]]:
    # dict.fromkeys and map run in C: twice as fast as a generator over setdefault. The
    # distinct values keep their first-seen order.
    distinct = list(dict.fromkeys(values))
    index = {v: i for i, v in enumerate(distinct)}
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values))
    return codes, distinct


def _distinct_blooms(
    values: Sequence[object], grams_of: Callable[[object], list[str]], spec: BloomSpec, h: Hasher
) -> U64:
    codes, distinct = _factorize(values)
    return _bloom_rows([grams_of(v) for v in distinct], spec, h)[codes]


def _text_input(name: NameForms) -> str:
    """All :func:`text_grams` reads of a name."""
    return name.latin or name.text.casefold()


def _hangul_input(name: NameForms) -> str:
    """All :func:`hangul_grams` reads of a name."""
    return "" if name.other else name.hangul


class _DistinctNames:
    """The distinct names of a batch of records, and each record's index among them.

    A name's forms are a pure function of its cleaned text and the other spelling that counted
    (``NameForms.identity``), so names are told apart by that: a str caches its hash, where
    hashing the nested ``NameForms`` walks every reading each time.
    """

    def __init__(self, records: Sequence[MatchRecord]):
        index: dict[str, int] = {}
        self.distinct: list[NameForms] = []
        codes = np.empty(len(records), dtype=np.int64)
        for row, r in enumerate(records):
            key = r.name.identity
            i = index.get(key)
            if i is None:
                i = index[key] = len(self.distinct)
                self.distinct.append(r.name)
            codes[row] = i
        self.codes = codes

    def blooms(
        self,
        grams_of: Callable[[NameForms], list[str]],
        value_of: Callable[[NameForms], str] | None,
        spec: BloomSpec,
        hasher: Hasher,
    ) -> U64:
        """One filter per record: each distinct name's grams (or, with ``value_of``, each
        distinct input of ``grams_of``: many names share their Hangul) encoded once."""
        if value_of is None:
            return _bloom_rows([grams_of(n) for n in self.distinct], spec, hasher)[self.codes]
        inputs: dict[str, int] = {}
        firsts: list[NameForms] = []
        per_name = np.empty(len(self.distinct), dtype=np.int64)
        for d, name in enumerate(self.distinct):
            v = value_of(name)
            i = inputs.get(v)
            if i is None:
                i = inputs[v] = len(firsts)
                firsts.append(name)
            per_name[d] = i
        rows = _bloom_rows([grams_of(n) for n in firsts], spec, hasher)
        return rows[per_name[self.codes]]


class _EditTokens:
    """The one-edit neighbourhoods (:func:`reading_edits`) of a batch's distinct names.

    Each distinct spelling (a reading's joined keys: many names share one) gets its grams
    once, and each distinct gram is hashed once under the ``edits`` key. A name's
    ``name.edits`` row holds EDIT_PER_READING slots for each of its first EDIT_READINGS
    readings (a 32-bit token from each gram's hash; 0 for an unused slot). The preferred
    reading's grams, mixed with a keyed constant of the blocking key, also block with the birth
    year and month: a typo anywhere in the name, a syllable break moved included. With the
    year alone (or a two-year bucket) it pairs every name one letter from a common one: in
    place of the leave-one-out pass, a million records had 34.3 (42.7) million candidate pairs
    against 33.6, and a 4.7 (5.4) GiB peak.
    """

    def __init__(self, distinct: Sequence[NameForms], hasher: Hasher):
        spelled: dict[str, int] = {}
        self.per_name = np.full((len(distinct), EDIT_READINGS), -1, dtype=np.int64)
        for d, name in enumerate(distinct):
            for r, reading in enumerate(_encoded_readings(name)[:EDIT_READINGS]):
                text = spelling(reading)
                i = spelled.get(text)
                if i is None:
                    i = spelled[text] = len(spelled)
                self.per_name[d, r] = i
        grams = [reading_edits_of(text)[:EDIT_PER_READING] for text in spelled]
        lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        # Each distinct gram hashed once; only the first 8 bytes of its digest are used.
        ids: dict[str, int] = {}
        for gram in chain.from_iterable(grams):
            if gram not in ids:
                ids[gram] = len(ids)
        digests = b"".join([hasher(g.encode())[:8] for g in ids])
        flat = np.fromiter(
            map(ids.__getitem__, chain.from_iterable(grams)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        h1 = np.frombuffer(digests, dtype="<u8").astype(np.uint64)[flat]
        # 32-bit tokens in 1 .. 2**32 - 2: 0 marks an unused slot, 2**32 - 1 is the comparison's
        # stand-in for an unused slot on the other side.
        low = (h1 % np.uint64(0xFFFFFFFE) + np.uint64(1)).astype(np.uint32)
        owners = np.repeat(np.arange(len(grams), dtype=np.int64), lengths)
        offsets = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        self._slots = np.zeros((len(grams) + 1, EDIT_PER_READING), dtype=np.uint32)
        self._slots[owners, offsets] = low  # the last row stays empty: "no such reading"
        self._h1 = h1
        # One more entry, empty, for "no reading" (-1): a batch may hold no Korean name at all.
        self._lengths = np.concatenate([lengths, [0]])
        self._starts = np.concatenate([np.cumsum(lengths) - lengths, [0]])

    def block_entries(
        self, codes: npt.NDArray[np.int64], block_hasher: Hasher
    ) -> tuple[npt.NDArray[np.int64], U64]:
        """(row, 64-bit name key) for the blocking pass: each record's preferred reading's
        grams (``codes``: each record's distinct name), before the birth date is mixed in."""
        salt = np.full(len(self._h1), _to_u64(block_hasher(b"e:")), dtype=np.uint64)
        keys = _mix(self._h1, salt)
        spelled = self.per_name[codes, 0] if len(codes) else np.zeros(0, np.int64)
        count = np.where(spelled >= 0, self._lengths[spelled], 0)
        rows = np.repeat(np.arange(len(codes), dtype=np.int64), count)
        offsets = np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count)
        return rows, keys[np.repeat(self._starts[spelled], count) + offsets]

    def rows(self) -> U64:
        """(distinct names, EDIT_SLOTS // 2) words: each reading's slots, in reading order."""
        picked = self._slots[self.per_name]  # -1 picks the empty last row
        return np.ascontiguousarray(picked.reshape(len(self.per_name), EDIT_SLOTS)).view(np.uint64)


def _columns(rows: Sequence[tuple[str | None, ...]], width: int) -> list[list[str | None]]:
    """Rows of values as columns (``width`` of them, even for no rows)."""
    return [[row[k] for row in rows] for k in range(width)]


def _tokens(values: Sequence[str | None], hasher: Hasher) -> U64:
    codes, distinct = _factorize(values)
    table = np.array(
        [0 if v is None else _to_u64(hasher(str(v).encode())) for v in distinct], dtype=np.uint64
    )
    return table[codes] if len(values) else np.zeros(0, np.uint64)


def _day_number(year: int, month: int, day: int | None) -> int:
    """Days since 0001-01-01 of a date as written (a month alone counts as its 15th; a day
    past the month's end, as records have, runs on into the next month)."""
    return dt.date(year, month, 1).toordinal() + (14 if day is None else day - 1)


@lru_cache(maxsize=1 << 15)
def _window_values(b: Birth) -> tuple[str | None, ...]:
    """Buckets of the date's day number, to find two dates 20 to 50 days apart by equality.

    A lunar birthday is written about a month (20 to 50 days) before the solar one. The side
    that may be lunar gives its day number moved on by LUNAR_SHIFT, the other side its own, in
    WINDOW_GRIDS grids of WINDOW_WIDTH-day buckets offset from each other: some grid puts both
    in one bucket whenever they are within ±15 days of the shift (20 to 50 days apart), and
    none when they are more than ±20 days from it. A date said to be solar is never the lunar
    side, one said to be lunar never the solar side; a month without the day counts as the
    15th. Nothing without a month.
    """
    if b.year is None or b.month is None:
        return (None,) * len(WINDOW_TOKENS)
    n = _day_number(b.year, b.month, b.day)
    step = WINDOW_WIDTH // WINDOW_GRIDS
    plain = [
        None if b.calendar == "lunar" else f"{k}:{(n + k * step) // WINDOW_WIDTH}"
        for k in range(WINDOW_GRIDS)
    ]
    moved = [
        None if b.calendar == "solar" else f"{k}:{(n + LUNAR_SHIFT + k * step) // WINDOW_WIDTH}"
        for k in range(WINDOW_GRIDS)
    ]
    return (*plain, *moved)


def _swap_value(b: Birth) -> str | None:
    """The date with day and month exchanged, where that is another date."""
    if b.year is None or b.month is None or b.day is None or b.day > 12 or b.day == b.month:
        return None
    return f"{b.year}-{b.day}-{b.month}"


def _origin_values(origin: str | None) -> tuple[str | None, str | None, str | None]:
    """(place, province, region) of a written origin; an origin the place tables do not read
    keeps its cleaned text as the place, compared for equality only."""
    if origin is None:
        return None, None, None
    place = place_of(origin)
    if place is None:
        return origin, None, None
    return place.town, place.province, place.region


def _occupation_values(occupation: str | None) -> tuple[str | None, str | None]:
    """(the occupation as written, its category); the category of no kind is left unknown."""
    if occupation is None:
        return None, None
    kind = occupation_category(occupation)
    if kind == "unknown" or occupation == "other":  # "other": an old code that says nothing
        return None, None
    return occupation, None if kind == "other" else kind


def _birth_values(b: Birth) -> tuple[str | None, ...]:
    y, m, d = b.year, b.month, b.day
    if y is None:
        return (None,) * len(BIRTH_TOKENS)
    return (
        f"{y}-{m}-{d}" if d is not None else None,
        f"{y}-{m}" if m is not None else None,
        f"{m}-{d}" if d is not None else None,
        str(y),
        str(y // 2),
        str((y + 1) // 2),
        str(m) if m is not None else None,
    )


def encode_records(
    *,
    records: Sequence[MatchRecord],
    hasher_for: HasherFactory,
    extra_fields: Sequence[str] = (),
    block_on: Sequence[str] = (),
    keep_records: bool = False,
) -> EncodedTable:
    """Encode records under ``hasher_for`` (a keyed-hash factory from :mod:`haven.crypto`).

    ``extra_fields`` names the records' extra free-text fields to encode (others are ignored);
    ``block_on`` names extra fields whose exact value is a further blocking pass (a postcode).
    ``keep_records`` keeps the clear records on the table so that the matcher may compare names
    with the full Korean rules: only for clear-value runs, never for a table that is stored.
    """
    names = _DistinctNames(records)
    blooms: dict[str, U64] = {}
    for fname, grams_of, value_of, purpose in (
        ("name.phonetic", phonetic_grams, None, "name.phonetic"),
        # The same hash as the first reading's filter: readings are compared across filters.
        ("name.phonetic.alt", lambda n: phonetic_grams(n, 1), None, "name.phonetic"),
        ("name.text", text_grams, _text_input, "name.text"),
        ("name.hangul", hangul_grams, _hangul_input, "name.hangul"),
    ):
        blooms[fname] = names.blooms(
            grams_of, value_of, BLOOMS[fname], hasher_for("bloom:" + purpose)
        )
    edits = _EditTokens(names.distinct, hasher_for("edits:name"))
    blooms["name.edits"] = edits.rows()[names.codes]
    extras = tuple(dict.fromkeys(extra_fields))
    for fname in extras:
        values = [dict(r.extra).get(fname) for r in records]
        blooms["extra." + fname] = _distinct_blooms(
            values,
            lambda v: _bigrams(str(v)) if v else [],
            EXTRA_BLOOM,
            hasher_for("bloom:extra." + fname),
        )
    tokens: dict[str, U64] = {}
    for fname in EXACT_TOKENS:
        tokens[fname] = _tokens([getattr(r, fname) for r in records], hasher_for("token:" + fname))
    # Each field's values are few across a population (a province, a date): every token of
    # a field is made once per distinct value and gathered into rows.
    codes, origins = _factorize([r.origin for r in records])
    for fname, column in zip(
        ORIGIN_TOKENS,
        _columns([_origin_values(cast(str | None, v)) for v in origins], 3),
        strict=True,
    ):
        tokens[fname] = _tokens(column, hasher_for("token:" + fname))[codes]
    codes, jobs = _factorize([r.occupation for r in records])
    for fname, column in zip(
        OCCUPATION_TOKENS,
        _columns([_occupation_values(cast(str | None, v)) for v in jobs], 2),
        strict=True,
    ):
        tokens[fname] = _tokens(column, hasher_for("token:" + fname))[codes]
    codes, births = _factorize([r.birth for r in records])
    per_birth = [
        (*_birth_values(b), _swap_value(b), *_window_values(b)) for b in cast(list[Birth], births)
    ]
    columns = _columns(per_birth, len(BIRTH_TOKENS) + 1 + len(WINDOW_TOKENS))
    window_hasher = hasher_for("token:birth.window")  # one hash: shifted meet unshifted
    for k, fname in enumerate((*BIRTH_TOKENS, "birth.swap", *WINDOW_TOKENS)):
        if fname == "birth.swap":
            hasher = hasher_for("token:birth.ymd")  # compared with the other side's date
        elif fname in WINDOW_TOKENS:
            hasher = window_hasher
        else:
            hasher = hasher_for("token:" + fname)
        tokens[fname] = _tokens(columns[k], hasher)[codes]
    block_hasher = hasher_for("block")
    rows, toks = _block_tokens(
        records=records,
        names=names,
        hasher=block_hasher,
        birth={f: tokens[f] for f in BIRTH_TOKENS},
        block_on=block_on,
        month_entries=edits.block_entries(names.codes, block_hasher),
    )
    return EncodedTable(
        ids=[r.id for r in records],
        blooms=blooms,
        tokens=tokens,
        block_rows=rows,
        block_tokens=toks,
        extra_fields=extras,
        records=records if keep_records else None,
    )


_PASS_BIRTH: dict[BlockPass, tuple[int, ...]] = {  # BIRTH_TOKENS indexes; -1: none
    "any": (-1,),
    "bucket": (BIRTH_TOKENS.index("birth.y2a"), BIRTH_TOKENS.index("birth.y2b")),
    "year": (BIRTH_TOKENS.index("birth.y"),),
    "date": (BIRTH_TOKENS.index("birth.ymd"),),
}


def _mix(a: U64, b: U64) -> U64:
    """Combine two keyed 64-bit tokens into one (splitmix64 finaliser over a ^ rotated b)."""
    with np.errstate(over="ignore"):
        x = a ^ ((b << np.uint64(17)) | (b >> np.uint64(47))) ^ (b * np.uint64(0x9E3779B97F4A7C15))
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _block_tokens(
    *,
    records: Sequence[MatchRecord],
    names: _DistinctNames,
    hasher: Hasher,
    birth: dict[str, U64],
    block_on: Sequence[str],
    month_entries: tuple[npt.NDArray[np.int64], U64] | None = None,
) -> tuple[npt.NDArray[np.int64], U64]:
    codes, distinct = names.codes, names.distinct
    cache: dict[str, int] = {}
    ent_count: list[int] = []  # entries of each distinct name
    ent_field: list[int] = []  # index into BIRTH_TOKENS, -1: no birth part
    ent_tok: list[int] = []
    for name in distinct:
        before = len(ent_tok)
        for how, key in name_block_keys(name):
            t = cache.get(key)
            if t is None:
                t = cache[key] = _to_u64(hasher(key.encode()))
            birth_fields = _PASS_BIRTH[how]
            ent_field.extend(birth_fields)
            ent_tok.extend([t] * len(birth_fields))
        ent_count.append(len(ent_tok) - before)
    toks = np.array(ent_tok, dtype=np.uint64)
    fields = np.array(ent_field, dtype=np.int8)
    counts = np.array(ent_count, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    per_row = counts[codes] if len(codes) else np.zeros(0, np.int64)
    rows = np.repeat(np.arange(len(records), dtype=np.int64), per_row)
    offsets = np.arange(len(rows)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    ent = np.repeat(starts[codes], per_row) + offsets if len(rows) else rows
    out = toks[ent] if len(rows) else np.zeros(0, np.uint64)
    keep = np.ones(len(rows), dtype=bool)
    ent_fields = fields[ent] if len(rows) else fields[:0]
    for f in np.unique(fields[fields >= 0]).tolist():
        sel = np.flatnonzero(ent_fields == f)
        b = birth[BIRTH_TOKENS[f]][rows[sel]]
        keep[sel[b == 0]] = False
        out[sel] = _mix(out[sel], b)
    rows, out = rows[keep], out[keep]
    if month_entries is not None:  # name keys hashed elsewhere, with the birth year and month
        m_rows, m_keys = month_entries
        ym = birth["birth.ym"][m_rows]
        known = ym != 0
        rows = np.concatenate([rows, m_rows[known]])
        out = np.concatenate([out, _mix(m_keys[known], ym[known])])
    if block_on:  # exact extra values (a postcode): few records use this, plain Python is fine
        extra_rows: list[int] = []
        extra_toks: list[int] = []
        for i, r in enumerate(records):
            extra = dict(r.extra)
            for fname in block_on:
                if fname in extra:
                    key = f"x:{fname}={extra[fname]}"
                    t = cache.get(key)
                    if t is None:
                        t = cache[key] = _to_u64(hasher(key.encode()))
                    extra_rows.append(i)
                    extra_toks.append(t)
        rows = np.concatenate([rows, np.array(extra_rows, dtype=np.int64)])
        out = np.concatenate([out, np.array(extra_toks, dtype=np.uint64)])
    return rows, out


def concat_tables(tables: Sequence[EncodedTable], *, consume: bool = False) -> EncodedTable:
    """One table from several encoded under the same key (e.g. encoded in chunks, or loaded
    from stored per-person encodings), rows in order. Clear records are not carried over.

    With ``consume`` each field is taken out of the given tables as soon as it is joined, so
    that the parts and the whole are not held at once (a million records' encodings are about
    a gigabyte); the given tables are left empty.
    """
    if not tables:
        raise ValueError("nothing to concatenate")
    extra = tables[0].extra_fields
    if any(t.extra_fields != extra for t in tables):
        raise ValueError("the tables encode different extra fields")
    offsets = np.cumsum([0] + [len(t) for t in tables[:-1]])

    def join(name: str, of: Sequence[dict[str, U64]]) -> U64:
        out = np.concatenate([d[name] for d in of])
        if consume:
            for d in of:
                del d[name]
        return out

    blooms = {f: join(f, [t.blooms for t in tables]) for f in list(tables[0].blooms)}
    tokens = {f: join(f, [t.tokens for t in tables]) for f in list(tables[0].tokens)}
    block_rows = np.concatenate(
        [t.block_rows + off for t, off in zip(tables, offsets.tolist(), strict=True)]
    )
    if consume:
        for t in tables:
            t.block_rows = np.zeros(0, np.int64)
    block_tokens = np.concatenate([t.block_tokens for t in tables])
    if consume:
        for t in tables:
            t.block_tokens = np.zeros(0, np.uint64)
    return EncodedTable(
        ids=[i for t in tables for i in t.ids],
        blooms=blooms,
        tokens=tokens,
        block_rows=block_rows,
        block_tokens=block_tokens,
        extra_fields=extra,
    )


def popcount(a: U64) -> npt.NDArray[np.int64]:
    """Set bits per row of an (n, words) array."""
    return np.bitwise_count(a).sum(axis=1, dtype=np.int64)


def dice(a: U64, b: U64) -> npt.NDArray[np.float64]:
    """Dice coefficient of paired rows; NaN where both filters are empty (nothing to compare)."""
    inter = np.bitwise_count(a & b).sum(axis=1, dtype=np.int64)
    total = popcount(a) + popcount(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 2.0 * inter / total
    return np.where(total > 0, out, np.nan)
