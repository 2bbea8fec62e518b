"""The aggregate store: sealed facts in, a matrix of codes out.

Writing needs only the statistics key's public half (anyone who changes a case). Reading needs
its private half: a press officer or supervisor opens the latest snapshot (one data key, one
blob), then only the rows written since (a changed case's row has a new id, a destroyed case's
is gone), and a page seals a fresh snapshot when many rows changed.

The matrix is ``int32``, one row per case and one column per :data:`FIELDS`; categories are
their index in the fixed code lists of :mod:`haven.stats.categories`, months are
``year * 12 + month - 1`` and -1 means "none". A snapshot records the vocabulary it was encoded
with: if the code lists change, it is rebuilt from the rows.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from haven.crypto import CryptoError, KeyContext
from haven.stats import categories as cat

FIELDS = ("rm", "rq", "dup", "ch", "oc", "pr", "sx", "ag", "out", "om", "tc", "da")
COLUMN = {name: i for i, name in enumerate(FIELDS)}
VOCABULARY: dict[str, tuple[str, ...]] = {
    "ch": tuple(cat.CHANNELS),
    "oc": tuple(cat.OCCUPATIONS),
    "pr": tuple(cat.ORIGINS),
    "sx": tuple(cat.SEXES),
    "ag": tuple(cat.AGES),
    "out": tuple(cat.OUTCOMES),
    "tc": tuple(cat.THIRD_COUNTRIES),
}
VOCABULARY_ID = hashlib.sha256(
    json.dumps([FIELDS, VOCABULARY], sort_keys=True).encode()
).hexdigest()[:16]
_INDEX = {name: {code: i for i, code in enumerate(codes)} for name, codes in VOCABULARY.items()}


def _month_code(text: str) -> int:
    if not text:
        return -1
    year, month = text.split("-")
    return int(year) * 12 + int(month) - 1


def encode(facts: dict[str, Any]) -> list[int]:
    """One row of the matrix. Unknown codes (facts written with another vocabulary) become the
    list's last code, its "other" or "unknown"."""
    row = []
    for name in FIELDS:
        value = facts.get(name)
        if name in ("rm", "om"):
            row.append(_month_code(str(value or "")))
        elif name in ("rq", "dup"):
            row.append(1 if value else 0)
        elif name == "da":
            row.append(int(value) if isinstance(value, int) and value >= 0 else -1)
        elif name == "out" and not value:
            row.append(-1)
        else:
            index = _INDEX[name]
            row.append(index.get(str(value), len(index) - 1))
    return row


@dataclass
class FactsMatrix:
    """Every case's facts as codes; ``ids`` are the rows' ids (never a case's)."""

    ids: np.ndarray  # int64
    data: np.ndarray  # int32, (n, len(FIELDS))
    unreadable: int = 0

    @classmethod
    def empty(cls) -> FactsMatrix:
        return cls(np.zeros(0, np.int64), np.zeros((0, len(FIELDS)), np.int32))

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, name: str) -> np.ndarray:
        return self.data[:, COLUMN[name]]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, self.ids, allow_pickle=False)
        # Every code fits in 16 bits (months are about 24,300, days to arrival a few hundred):
        # half the bytes to fetch and open.
        np.save(buffer, self.data.astype(np.int16), allow_pickle=False)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> FactsMatrix:
        buffer = io.BytesIO(blob)
        ids = np.load(buffer, allow_pickle=False)
        data = np.load(buffer, allow_pickle=False)
        if data.ndim != 2 or data.shape != (len(ids), len(FIELDS)):
            raise CryptoError("a statistics snapshot of the wrong shape")
        return cls(ids.astype(np.int64), data.astype(np.int32))

    def merged(
        self, gone: np.ndarray, added_ids: list[int], added_rows: list[list[int]]
    ) -> FactsMatrix:
        keep = ~np.isin(self.ids, gone)
        ids = np.concatenate([self.ids[keep], np.array(added_ids, dtype=np.int64)])
        rows = (
            np.array(added_rows, dtype=np.int32)
            if added_rows
            else np.zeros((0, len(FIELDS)), np.int32)
        )
        data = np.concatenate([self.data[keep], rows])
        order = np.argsort(ids, kind="stable")
        return FactsMatrix(ids[order], data[order], self.unreadable)


def open_rows(
    ctx: KeyContext,
    rows: list[tuple[int, Any, bytes, Any]],
    covers: dict[Any, dict[str, Any]] | None = None,
) -> tuple[list[int], list[list[int]], int]:
    """Open sealed facts rows ``(id, team key id, sealed, cover id)``; a row with cover
    categories (``covers``, by id) is counted under them. Returns ids, encoded rows and how many
    did not open (forged or damaged: left out, and counted)."""
    ids, encoded, bad = [], [], 0
    for row_id, team_key_id, sealed, cover_id in rows:
        try:
            facts = ctx.facts_open(f"t:{team_key_id}", bytes(sealed))
        except (CryptoError, ValueError):
            bad += 1
            continue
        if cover_id is not None:
            facts = {**facts, **(covers or {}).get(cover_id, {})}
        ids.append(int(row_id))
        encoded.append(encode(facts))
    return ids, encoded, bad
