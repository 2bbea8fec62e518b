"""The best pairwise F1 any matcher could reach on the blind generator with the fields as given.

    nice -n 10 .venv/bin/python benchmarks/linkage_ceiling.py [--sizes 5000,20000,100000]
                                                               [--seed 1] [--generator blind]

An oracle, not a matcher: the set is encoded and blocked as ``find_duplicates`` does it, every
candidate pair gets the engine's comparison vector (each field's agreement level, as
``haven.matching.compare.compare_pairs`` computes it), and the pairs are grouped by that vector.
Whatever a matcher does, it sees only the vector: two pairs with the same vector get the same
answer. Knowing the truth, the oracle takes the vectors best-precision first, as long as F1
rises (which is at least as good as deciding each vector by its majority). True pairs blocking
never brings together count as misses, as they do for the engine. A second ceiling adds the
name's frequency (how many other records hold it, in powers of two: the engine's weight for
"the same name" uses it), which splits the vectors finer.

What limits it, counted on the same pairs:
- stranger pairs the oracle has to accept with the true pairs that share their vector
  (indistinguishable), and true pairs it has to leave with the strangers;
- the share of true pairs whose names share no reading (no reading of one is a reading of the
  other, with the full Korean rules on clear values: a typo, a cover name, an alias only);
- among candidate pairs with "the same name" and no birth date on one side, true pairs against
  strangers.

The engine does not know this script: it reads the truth only to score. Seeds other than 1 are
held out of tuning; the default is 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))

from linkage import generated  # noqa: E402 - the benchmark's own generators and record path


def _oracle(keys: np.ndarray, true: np.ndarray, n_true: int) -> tuple[float, int, int, int]:
    """(best F1, true pairs accepted, strangers accepted, vectors) over groups of ``keys``."""
    _u, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    t = np.bincount(inverse, weights=true, minlength=len(_u))
    f = np.bincount(inverse, weights=~true, minlength=len(_u))
    order = np.argsort(-(t / (t + f)), kind="stable")
    tp = np.concatenate([[0.0], np.cumsum(t[order])])
    fp = np.concatenate([[0.0], np.cumsum(f[order])])
    f1 = 2 * tp / (tp + fp + n_true)
    best = int(np.argmax(f1))
    return float(f1[best]), int(tp[best]), int(fp[best]), len(_u)


def measure(which: str, n: int, seed: int) -> dict[str, Any]:
    from haven.crypto import IndexKey
    from haven.matching.blocking import dedupe_candidates
    from haven.matching.compare import compare_pairs
    from haven.matching.encodings import encode_records
    from haven.matching.names import name_similarity

    started = time.perf_counter()
    records, truth, _rows, _requests = generated(which, n, seed)
    table = encode_records(records=records, hasher_for=IndexKey.generate().keyed_hasher)
    cands = dedupe_candidates(table=table)
    comps = compare_pairs(left=table, right=table, i=cands.left, j=cands.right)
    ids = table.ids
    left = [ids[k] for k in comps.left.tolist()]
    right = [ids[k] for k in comps.right.tolist()]
    true = np.fromiter(
        ((a, b) in truth or (b, a) in truth for a, b in zip(left, right, strict=True)),
        dtype=bool,
        count=len(left),
    )
    levels = comps.levels
    f1, tp, fp, vectors = _oracle(levels, true, len(truth))
    # The engine's name-frequency input: how many other records hold the name, log2 buckets.
    held = np.floor(np.log2(np.maximum(comps.name_frequency * len(table), 1.0))).astype(np.int8)
    f1_freq, tp_freq, fp_freq, vectors_freq = _oracle(
        np.column_stack([levels, held]), true, len(truth)
    )
    by_id = {r.id: r for r in records}
    no_reading = sum(
        name_similarity(by_id[a].name, by_id[b].name) < 1.0
        if by_id[a].name.text and by_id[b].name.text
        else True
        for a, b in truth
    )
    name, birth = comps.fields.index("name"), comps.fields.index("birth")
    same_no_birth = (levels[:, name] == levels[:, name].max()) & (levels[:, birth] == -1)
    return {
        "n": len(records),
        "true": len(truth),
        "candidates": len(true),
        "true_candidates": int(true.sum()),
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "vectors": vectors,
        "f1_freq": f1_freq,
        "tp_freq": tp_freq,
        "fp_freq": fp_freq,
        "vectors_freq": vectors_freq,
        "no_reading": no_reading,
        "same_no_birth_true": int((same_no_birth & true).sum()),
        "same_no_birth_strangers": int((same_no_birth & ~true).sum()),
        "seconds": time.perf_counter() - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,20000,100000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--generator", default="blind", help="blind, calibrated or first")
    args = parser.parse_args()
    print(
        f"Ceiling of pairwise F1 ({args.generator} generator, seed {args.seed}), "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.2f}"
    )
    for n in [int(x) for x in args.sizes.split(",") if x]:
        s = measure(args.generator, n, args.seed)
        missed = s["true"] - s["true_candidates"]
        print(
            f"\n{s['n']:,} records, {s['true']:,} true pairs ({missed:,} never candidates), "
            f"{s['candidates']:,} candidate pairs ({s['seconds']:.0f}s)\n"
            f"  ceiling, comparison vector ({s['vectors']:,} vectors): F1 {s['f1']:.4f}; "
            f"accepts {s['tp']:,} true pairs and {s['fp']:,} strangers indistinguishable from "
            f"them, leaves {s['true'] - s['tp']:,} true pairs\n"
            f"  ceiling, vector and name frequency ({s['vectors_freq']:,} vectors): "
            f"F1 {s['f1_freq']:.4f}; accepts {s['tp_freq']:,} true pairs and "
            f"{s['fp_freq']:,} strangers\n"
            f"  true pairs whose names share no reading: {s['no_reading']:,} "
            f"({s['no_reading'] / max(s['true'], 1):.1%})\n"
            f"  the same name, no birth date on one side: {s['same_no_birth_true']:,} true "
            f"pairs against {s['same_no_birth_strangers']:,} strangers",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
