"""Possible duplicates of an import's rows, before anything is loaded: among the rows of the
file, and against the people already stored that the importing person may open.

As everywhere in Haven, comparison runs on keyed encodings (:mod:`haven.dedupe`): the file's rows
are encoded with the organisation's index key in memory, compared with each other through the
engine's blocking and scoring, and with stored people through the stored blocking tokens and
encodings. Nothing stored is decrypted to compare; only the names of the few people shown are
opened, when the page shows them (and that read is audited).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Count

from haven.accounts.models import User
from haven.cases.selectors import case_queryset
from haven.crypto import KeyContext
from haven.dedupe.models import BlockToken, PersonEncoding
from haven.dedupe.scoring import (
    REVIEW_THRESHOLD,
    VERSION,
    evidence_rows,
    record_from_payload,
    score_pairs,
    table_from_rows,
)
from haven.dedupe.selectors import scoring_model
from haven.matching.blocking import MAX_BLOCK, dedupe_candidates, link_candidates
from haven.matching.encodings import EncodedTable, encode_records
from haven.vault.index import index_key_active

MAX_PAIRS = 2_000  # shown on the page and kept with the staged import
PER_ROW = 3  # stored people shown per row
_QUERY_CHUNK = 2_000


@dataclass
class Preview:
    pairs: list[dict[str, Any]]
    # Why there is no preview (no index key, or the person does not hold it); "" when there is.
    unavailable: str = ""


def _signed(token: int) -> int:
    return token - (1 << 64) if token >= 1 << 63 else token


def _chunks(values: Sequence[Any], size: int = _QUERY_CHUNK) -> list[Sequence[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _file_table(ctx: KeyContext, rows: list[dict[str, Any]]) -> EncodedTable:
    records = [record_from_payload(record_id=str(row["row"]), data=row["person"]) for row in rows]
    return encode_records(records=records, hasher_for=ctx.index_hasher)


def _within(table: EncodedTable, threshold: float) -> list[dict[str, Any]]:
    cands = dedupe_candidates(table=table)
    scored = score_pairs(
        left=table,
        right=table,
        i=np.asarray(cands.left),
        j=np.asarray(cands.right),
        model=scoring_model(threshold=threshold, people=len(table)),
        threshold=threshold,
        limit=MAX_PAIRS,  # no more are shown or kept: only these are explained
    )
    out = []
    for pair in scored:
        first, second = sorted((int(pair.left_id), int(pair.right_id)))
        out.append(
            {
                "row": second,  # the later row is the one flagged
                "other_row": first,
                "case": None,
                "probability": pair.probability,
                "evidence": evidence_rows(pair.explanation),
            }
        )
    return out


def _stored_people(user: User, table: EncodedTable) -> dict[str, str]:
    """person id -> case id of stored people sharing a (small) block with the file's rows,
    among the cases ``user`` may open."""
    tokens = sorted({_signed(int(t)) for t in table.block_tokens.tolist()})
    kept: list[int] = []
    for part in _chunks(tokens):
        kept += [
            row["token"]
            for row in BlockToken.objects.filter(token__in=part)
            .values("token")
            .annotate(n=Count("person_id"))
            if row["n"] <= MAX_BLOCK
        ]
    people: set[Any] = set()
    for part in _chunks(kept):
        people |= set(BlockToken.objects.filter(token__in=part).values_list("person_id", flat=True))
    visible: dict[str, str] = {}
    for part in _chunks(sorted(people, key=str)):
        visible.update(
            (str(p), str(c))
            for p, c in case_queryset(user=user)
            .filter(person_id__in=part)
            .values_list("person_id", "pk")
        )
    return visible


def _stored_table(people: list[str], generation: int) -> EncodedTable | None:
    rows: list[tuple[str, bytes, bytes, list[int]]] = []
    for part in _chunks(people):
        encodings = {
            str(p): (bytes(b), bytes(t))
            for p, b, t in PersonEncoding.objects.filter(
                person_id__in=part, generation=generation, encoding_version=VERSION
            ).values_list("person_id", "blooms", "tokens")
        }
        blocks: dict[str, list[int]] = {}
        for p, token in BlockToken.objects.filter(person_id__in=part).values_list(
            "person_id", "token"
        ):
            blocks.setdefault(str(p), []).append(token)
        rows += [(p, b, t, blocks.get(p, [])) for p, (b, t) in encodings.items()]
    return table_from_rows(rows) if rows else None


def _against_stored(
    user: User, table: EncodedTable, generation: int, threshold: float
) -> list[dict[str, Any]]:
    case_of = _stored_people(user, table)
    if not case_of:
        return []
    stored = _stored_table(sorted(case_of), generation)
    if stored is None:
        return []
    cands = link_candidates(left=table, right=stored)
    scored = score_pairs(
        left=table,
        right=stored,
        i=np.asarray(cands.left),
        j=np.asarray(cands.right),
        model=scoring_model(threshold=threshold),
        threshold=threshold,
    )
    per_row: dict[int, int] = {}
    out = []
    for pair in scored:  # best first
        row = int(pair.left_id)
        if per_row.get(row, 0) >= PER_ROW:
            continue
        per_row[row] = per_row.get(row, 0) + 1
        out.append(
            {
                "row": row,
                "other_row": None,
                "case": case_of[pair.right_id],
                "probability": pair.probability,
                "evidence": evidence_rows(pair.explanation),
            }
        )
    return out


def duplicates_preview(
    *, ctx: KeyContext, user: User, rows: list[dict[str, Any]], threshold: float = REVIEW_THRESHOLD
) -> Preview:
    """Pairs of (row, earlier row) and (row, stored case) that may be one person, most likely
    first, at most :data:`MAX_PAIRS`. ``rows``: the rows that will load, as checked."""
    index_key = index_key_active()
    if index_key is None:
        return Preview(
            [], "The organisation has no search index key: duplicates cannot be looked for."
        )
    if not ctx.holds_index_key():
        return Preview(
            [],
            "You do not hold the all-staff key, so duplicates cannot be looked for: ask a "
            "supervisor to share it with you on the Keys page.",
        )
    if not rows:
        return Preview([])
    table = _file_table(ctx, rows)
    pairs = _against_stored(user, table, index_key.generation, threshold) + _within(
        table, threshold
    )
    pairs.sort(key=lambda p: (-p["probability"], p["row"]))
    return Preview(pairs[:MAX_PAIRS])
