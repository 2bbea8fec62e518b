"""A thin adapter between stored encodings and the matching engine (:mod:`haven.matching`).

The engine works on whole :class:`~haven.matching.encodings.EncodedTable` objects; Haven stores
one person's encodings per row. This module packs a one-record table into bytes and back, builds
tables from stored rows, and scores pairs with a model: the engine's EM-trained one on a full
pass over a large population, else :func:`default_model`, fixed parameters that suit a small
organisation (EM needs thousands of records to learn anything) and the request page, where only
a handful of pairs are scored at a time.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from haven.matching.compare import compare_pairs, field_names, labels_for
from haven.matching.encodings import (
    BLOOMS,
    ENCODING_VERSION,
    EXTRA_BLOOM,
    TOKEN_FIELDS,
    EncodedTable,
    encode_records,
)
from haven.matching.explain import GUARD_NOTE, Explanation, explain
from haven.matching.model import MIN_NAME_LEVEL, FieldModel, MatchModel, probability
from haven.matching.model import default_model as engine_default_model
from haven.matching.records import MatchRecord, match_record
from haven.matching.together import fixed as together_fixed
from haven.matching.together import support_counts

BLOOM_WORDS = {name: spec.words for name, spec in BLOOMS.items()}
BLOOM_BYTES = sum(BLOOM_WORDS.values()) * 8
TOKEN_BYTES = len(TOKEN_FIELDS) * 8
# Proposed as "possibly the same person" at or above this probability (the engine's default
# threshold, 0.9, is for automatic linkage; here a person decides, so weaker pairs are shown too).
REVIEW_THRESHOLD = 0.5
# Stored encodings are compared only with encodings made the same way: the engine's encoding
# version and its parameters (filter sizes, hash counts, token fields). Anything else counts as
# stale and is encoded again (by the next look at the person, or `haven dedupe`).
VERSION = f"{ENCODING_VERSION}-" + format(
    zlib.crc32(
        repr(
            (
                sorted((k, s.bits, s.hashes) for k, s in BLOOMS.items()),
                (EXTRA_BLOOM.bits, EXTRA_BLOOM.hashes),
                TOKEN_FIELDS,
            )
        ).encode()
    ),
    "08x",
)

Hasher = Callable[[bytes], bytes]


def _signed(token: int) -> int:
    """A uint64 token as the signed 64-bit integer the database stores."""
    return token - (1 << 64) if token >= 1 << 63 else token


def _unsigned(token: int) -> int:
    return token + (1 << 64) if token < 0 else token


# --- From a person's payload to a match record -------------------------------------------------


def _birth_parts(birth: Any) -> tuple[int | None, int | None, int | None]:
    if not isinstance(birth, dict) or birth.get("precision") in (None, "", "unknown"):
        return None, None, None
    parts = str(birth.get("value", "")).split("-")
    try:
        numbers = [int(p) for p in parts[:3]]
    except ValueError:
        return None, None, None
    numbers += [None] * (3 - len(numbers))  # type: ignore[list-item]
    return numbers[0], numbers[1], numbers[2]


def primary_name(data: dict[str, Any]) -> str:
    """The name a person is compared on: the Hangul if known (the most precise), else the
    romanized spelling, else the first alias."""
    aliases = data.get("aliases") or []
    return str(
        data.get("name_hangul") or data.get("name_romanized") or (aliases[0] if aliases else "")
    )


def record_from_payload(
    *, record_id: str, data: dict[str, Any], broker_id: Any = None
) -> MatchRecord:
    """A person's payload as the matcher sees it (unknowns are left out, never compared)."""
    birth = data.get("birth")
    year, month, day = _birth_parts(birth)
    sex = data.get("sex")
    occupation = data.get("occupation")
    name = primary_name(data)
    romanized = data.get("name_romanized")
    return match_record(
        id=record_id,
        name=name,
        # The romanized name beside the Hangul is a second reading of it where the two
        # disagree (haven.matching.names.with_other_spelling): one of them was mistyped.
        other_spellings=(str(romanized),) if romanized and data.get("name_hangul") else (),
        birth_year=year,
        birth_month=month,
        birth_day=day,
        birth_calendar=str(birth.get("calendar") or "") if isinstance(birth, dict) else "",
        sex=sex if sex in ("female", "male") else None,
        origin=data.get("origin_region") or None,
        # As written; the old fixed codes ("restaurant_worker") read as their category, and
        # "other" or "unknown" say nothing (haven.matching.occupations).
        occupation=str(occupation) if occupation else None,
        broker=str(broker_id) if broker_id else None,
    )


# --- Packing one record's encodings -------------------------------------------------------------


@dataclass(frozen=True)
class Packed:
    """One person's encodings as stored: filters, tokens and blocking tokens (signed)."""

    blooms: bytes
    tokens: bytes
    block: list[int]

    @property
    def block_bytes(self) -> bytes:
        """The blocking tokens packed as stored (``PersonEncoding.block``)."""
        return pack_block(self.block)


def pack_block(tokens: Sequence[int]) -> bytes:
    """Signed 64-bit blocking tokens as little-endian bytes."""
    return np.asarray(tokens, dtype="<i8").tobytes()


def unpack_block(data: bytes) -> npt.NDArray[np.uint64]:
    """Packed blocking tokens back as the engine's unsigned tokens."""
    return np.frombuffer(data, dtype="<i8").astype(np.int64).view(np.uint64)


def encode_one(*, record: MatchRecord, hasher_for: Callable[[str], Hasher]) -> Packed:
    """Encode one record (the same bits as in a whole-table encoding: each n-gram and value is
    hashed on its own) and pack it for storage."""
    table = encode_records(records=[record], hasher_for=hasher_for)
    blooms = b"".join(table.blooms[name][0].tobytes() for name in BLOOMS)
    tokens = b"".join(int(table.tokens[name][0]).to_bytes(8, "little") for name in TOKEN_FIELDS)
    block = sorted({_signed(int(t)) for t in table.block_tokens.tolist()})
    return Packed(blooms=blooms, tokens=tokens, block=block)


def encode_many(
    *, records: Sequence[MatchRecord], hasher_for: Callable[[str], Hasher]
) -> list[Packed]:
    """:func:`encode_one` for many records, encoded as one table (the same bits per record, at a
    fraction of the cost: an import or a request of several people)."""
    if not records:
        return []
    table = encode_records(records=list(records), hasher_for=hasher_for)
    blooms = np.concatenate([table.blooms[name] for name in BLOOMS], axis=1)
    tokens = np.stack([table.tokens[name] for name in TOKEN_FIELDS], axis=1).astype("<u8")
    block: list[set[int]] = [set() for _ in records]
    for row, token in zip(table.block_rows.tolist(), table.block_tokens.tolist(), strict=True):
        block[row].add(_signed(int(token)))
    return [
        Packed(blooms=blooms[k].tobytes(), tokens=tokens[k].tobytes(), block=sorted(block[k]))
        for k in range(len(records))
    ]


def table_from_rows(
    rows: Sequence[tuple[str, bytes, bytes, Sequence[int] | bytes]],
) -> EncodedTable:
    """A table from stored rows (id, blooms, tokens, signed blocking tokens or their packed
    bytes); rows with encodings of the wrong size are refused (ValueError) rather than
    misread."""
    n = len(rows)
    for _, bloom_bytes, token_bytes, _block in rows:
        if len(bloom_bytes) != BLOOM_BYTES or len(token_bytes) != TOKEN_BYTES:
            raise ValueError("stored encodings have the wrong size (another encoding version?)")
    raw_b = np.frombuffer(b"".join(bytes(r[1]) for r in rows), dtype="<u8").reshape(
        n, BLOOM_BYTES // 8
    )
    raw_t = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype="<u8").reshape(
        n, len(TOKEN_FIELDS)
    )
    blooms: dict[str, npt.NDArray[np.uint64]] = {}
    start = 0
    for name, words in BLOOM_WORDS.items():
        blooms[name] = raw_b[:, start : start + words].astype(np.uint64).copy()
        start += words
    tokens = {name: raw_t[:, k].astype(np.uint64).copy() for k, name in enumerate(TOKEN_FIELDS)}
    parts = [
        unpack_block(r[3]) if isinstance(r[3], bytes | memoryview) else _as_unsigned(r[3])
        for r in rows
    ]
    sizes = np.fromiter((len(p) for p in parts), dtype=np.int64, count=n)
    return EncodedTable(
        ids=[r[0] for r in rows],
        blooms=blooms,
        tokens=tokens,
        block_rows=np.repeat(np.arange(n, dtype=np.int64), sizes),
        block_tokens=np.concatenate(parts) if n else np.zeros(0, np.uint64),
    )


def _as_unsigned(tokens: Sequence[int]) -> npt.NDArray[np.uint64]:
    return np.array([_unsigned(int(t)) for t in tokens], dtype=np.uint64)


# --- Scoring -----------------------------------------------------------------------------------


def default_model(*, threshold: float = REVIEW_THRESHOLD) -> MatchModel:
    """The engine's fixed Fellegi–Sunter parameters, for populations too small to train on,
    with its guard rails (no match without name evidence)."""
    fields = field_names(EncodedTable([], {}, {}, np.zeros(0, np.int64), np.zeros(0, np.uint64)))
    return engine_default_model(fields=fields, threshold=threshold)


def model_parameters(*, model: MatchModel) -> dict[str, Any]:
    """A trained model as stored (plain JSON): m and u per field and level, the prior, the
    guard settings. Shares of pairs only, no value."""
    return {
        "fields": [{"field": f.field, "m": list(f.m), "u": list(f.u)} for f in model.fields],
        "prior": model.prior,
        "min_name_level": model.min_name_level,
        "iterations": model.iterations,
        "converged": model.converged,
        "anchors": model.anchors,
        "labelled": model.labelled,
        "warnings": list(model.warnings),
    }


PRIOR_LIMITS = (1e-12, 0.5)


def model_from_parameters(
    *, parameters: Any, people_trained: int, people_now: int, threshold: float
) -> MatchModel:
    """A stored model, checked against the fields and levels this Haven compares, its prior
    moved to today's population (the prior is over all pairs: it falls as 1/(people - 1)).

    Raises ``ValueError`` when the parameters do not fit (another engine version, a damaged
    row): the caller falls back to :func:`default_model` rather than misread them.
    """
    expected = field_names(EncodedTable([], {}, {}, np.zeros(0, np.int64), np.zeros(0, np.uint64)))
    try:
        rows = parameters["fields"]
        fields = tuple(
            FieldModel(
                str(r["field"]), tuple(float(x) for x in r["m"]), tuple(float(x) for x in r["u"])
            )
            for r in rows
        )
        prior = float(parameters["prior"])
        min_name_level = int(parameters.get("min_name_level", MIN_NAME_LEVEL))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"stored match model is malformed: {exc}") from exc
    if tuple(f.field for f in fields) != expected:
        raise ValueError("stored match model compares other fields")
    for f in fields:
        if not (len(f.m) == len(f.u) == len(labels_for(f.field))):
            raise ValueError(f"stored match model has other levels for {f.field}")
        if not all(0.0 < x < 1.0 for x in (*f.m, *f.u)):
            raise ValueError(f"stored match model has impossible shares for {f.field}")
    if not (0.0 < prior < 1.0) or people_trained < 2:
        raise ValueError("stored match model has an impossible prior")
    scaled = prior * (people_trained - 1) / max(people_now - 1, 1)
    warnings = parameters.get("warnings") or []
    return MatchModel(
        fields,
        float(np.clip(scaled, *PRIOR_LIMITS)),
        threshold=threshold,
        min_name_level=min_name_level,
        warnings=tuple(str(w) for w in warnings) if isinstance(warnings, list) else (),
    )


@dataclass(frozen=True)
class ScoredPair:
    left_id: str
    right_id: str
    probability: float
    weight: float
    explanation: Explanation


def score_pairs(
    *,
    left: EncodedTable,
    right: EncodedTable,
    i: npt.NDArray[np.int64],
    j: npt.NDArray[np.int64],
    model: MatchModel,
    threshold: float = REVIEW_THRESHOLD,
    limit: int | None = None,
    requests: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None,
) -> list[ScoredPair]:
    """Compare pairs (left row i[k], right row j[k]) and keep those at or above ``threshold``,
    each with the engine's explanation (which fields agreed, how strongly); best first.

    ``limit``: only the best ``limit`` pairs are kept and explained (and any tied with the last
    at its rounded probability, so that a caller ordering by probability keeps the same ones):
    explaining was most of the time a dry run spent on a large file's duplicates, of which the
    page shows a few thousand. ``requests`` (each left row's and each right row's request code,
    -1 unknown) weighs who they were reported with, at the fixed weights
    (:func:`haven.matching.together.fixed`), where other people of the two requests match too.
    """
    if not len(i):
        return []
    comps = compare_pairs(left=left, right=right, i=i, j=j)
    weight, prob = model.score(comps.levels)
    support = np.full(len(i), -1, dtype=np.int32)
    co = together_fixed()
    if requests is not None:
        # One row per person, whichever table holds them (a person may be new and another's
        # partner at once), so that a pair is never its own support.
        row_of: dict[str, int] = {}
        codes_of: dict[int, int] = {}
        for ids, codes in ((left.ids, requests[0]), (right.ids, requests[1])):
            for pid, c in zip(ids, codes.tolist(), strict=True):
                codes_of.setdefault(row_of.setdefault(pid, len(row_of)), int(c))
        lrow = np.array([row_of[p] for p in left.ids], dtype=np.int64)
        rrow = np.array([row_of[p] for p in right.ids], dtype=np.int64)
        rows, found = support_counts(
            left=lrow[np.asarray(i)],
            right=rrow[np.asarray(j)],
            weight=weight,
            requests=np.array([codes_of[k] for k in range(len(row_of))], dtype=np.int64),
        )
        # Only the agreeing level: these callers see part of the population (one request's
        # people, the cases a viewer may open), so that no one else matches proves little.
        rows, found = rows[found > 0], found[found > 0]
        if len(rows):
            weight = weight.copy()
            weight[rows] += co.weights(weak_name=model.weak_name(comps.levels[rows]), support=found)
            prob = probability(weight)
            support[rows] = found
    # Best first by the weight as reported (rounded); equal ones in the order compared.
    order = sorted(
        np.flatnonzero(prob >= threshold).tolist(), key=lambda k: -round(float(weight[k]), 2)
    )
    if limit is not None and len(order) > limit:
        last = round(float(prob[order[limit - 1]]), 4) if limit > 0 else 2.0
        order = [k for n, k in enumerate(order) if n < limit or round(float(prob[k]), 4) >= last]
    out = []
    for k in order:
        lid, rid = left.ids[int(i[k])], right.ids[int(j[k])]
        out.append(
            ScoredPair(
                lid,
                rid,
                round(float(prob[k]), 4),
                round(float(weight[k]), 2),
                explain(
                    model=model,
                    levels=comps.levels[k],
                    left_id=lid,
                    right_id=rid,
                    together=None if support[k] <= 0 else (int(support[k]), co.agree_weight),
                ),
            )
        )
    return out


HELD_BACK = " (held back: names not alike enough)"


def evidence_rows(explanation: Explanation) -> list[dict[str, Any]]:
    """The explanation as stored and shown: field, agreement label, weight (no values)."""
    return [
        {
            "field": e.field,
            "label": e.label + (HELD_BACK if e.held_back else ""),
            "weight": round(e.weight if e.counted is None else e.counted, 2),
        }
        for e in explanation.evidence
        if e.level >= 0 and e.field != "group"
    ]


def evidence_guard(rows: list[dict[str, Any]]) -> str | None:
    """The name guard's note for a pair's stored evidence (:func:`evidence_rows`), when it held
    a field's weight back; None otherwise."""
    held = any(str(row.get("label", "")).endswith(HELD_BACK) for row in rows)
    return GUARD_NOTE if held else None


# Below this many records on either side, EM has too few pairs to estimate anything from (a
# shared birth year among four people looks like chance): the fixed model scores them.
MIN_TRAIN_LINK = 1_000


def link_with_fixed_model(
    *, left: EncodedTable, right: EncodedTable, threshold: float
) -> list[ScoredPair]:
    """Link two small tables one-to-one with :func:`default_model` (best pairs first): the
    engine's blocking and one-to-one resolution, fixed parameters instead of EM."""
    from haven.matching.blocking import link_candidates
    from haven.matching.resolve import one_to_one

    if left.extra_fields or right.extra_fields:
        raise ValueError("the fixed model knows no extra fields")
    cands = link_candidates(left=left, right=right)
    scored = score_pairs(
        left=left,
        right=right,
        i=np.asarray(cands.left),
        j=np.asarray(cands.right),
        model=default_model(threshold=threshold),
        threshold=threshold,
    )
    if not scored:
        return []
    row_l = {rid: k for k, rid in enumerate(left.ids)}
    row_r = {rid: k for k, rid in enumerate(right.ids)}
    kept = one_to_one(
        left=np.array([row_l[p.left_id] for p in scored], dtype=np.int64),
        right=np.array([row_r[p.right_id] for p in scored], dtype=np.int64),
        score=np.array([p.weight for p in scored], dtype=np.float64),
    )
    return sorted((scored[k] for k in kept.tolist()), key=lambda p: -p.weight)
