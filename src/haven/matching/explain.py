"""Why a pair was (or was not) proposed: each field's level, its label and its weight."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from haven.matching.compare import Levels
from haven.matching.model import COARSE, MatchModel


@dataclass(frozen=True, slots=True)
class FieldEvidence:
    """One field's part in a score. ``level`` -1 means unknown on a side (weight 0)."""

    field: str
    level: int
    label: str
    weight: float  # log2(m/u): positive counts for a match, negative against
    counted: float | None = None  # what the score counted, where a guard held it back

    @property
    def held_back(self) -> bool:
        """Whether a guard rail kept part of this field's weight out of the score."""
        return self.counted is not None and self.counted != self.weight


# What the name guard does, as an explanation says it when it held a pair's weights back.
GUARD_NOTE = (
    "names not alike enough: birth, sex, origin, occupation, group, broker and who "
    "they were reported with count only against"
)


@dataclass(frozen=True, slots=True)
class Explanation:
    """A pair's score and the evidence behind it, strongest first."""

    left_id: str
    right_id: str
    probability: float
    weight: float  # prior + sum of field weights, in bits
    prior_weight: float
    evidence: tuple[FieldEvidence, ...]
    guard: str | None  # set when a guard rail held the pair below the threshold

    def lines(self) -> list[str]:
        """A short plain-language account: the score, then each field's level and weight (what
        was counted, where a guard held a weight back), then the prior; the weights shown
        add up to the score's."""
        out = [f"probability {self.probability:.3f} (weight {self.weight:+.1f} bits)"]
        for e in self.evidence:
            line = f"  {e.field}: {e.label} ({e.weight:+.1f})"
            if e.held_back:
                line += f", counted {e.counted:+.1f}"
            out.append(line)
        out.append(f"  prior: how rare duplicates are among all pairs ({self.prior_weight:+.1f})")
        if self.guard:
            out.append(f"  held back: {self.guard}")
        return out


def explain(
    *,
    model: MatchModel,
    levels: Levels,
    left_id: str,
    right_id: str,
    name_frequency: float | None = None,
    together: tuple[int, float] | None = None,
) -> Explanation:
    """Explain one pair from its comparison levels (a row of the level matrix).

    ``name_frequency`` is the pair's name frequency when the score was adjusted for it;
    ``together`` (how many other pairs of its two requests match, the weight that gave) is the
    co-reporting evidence where it applied (see :mod:`haven.matching.together`).
    """
    row = np.asarray(levels, dtype=np.int8).reshape(1, -1)
    weights = model.field_weights(row)[0]
    freq = None if name_frequency is None else np.array([name_frequency])
    weight, prob = model.score(row, freq)
    held = bool(model.weak_name(row)[0])
    evidence = []
    for f, lv, w in zip(model.fields, row[0].tolist(), weights.tolist(), strict=True):
        label = "unknown on one side" if lv < 0 else f.labels[lv]
        # The name guard: without name evidence the coarse fields count only against.
        counted = min(w, 0.0) if held and f.field in COARSE and w > 0 else None
        evidence.append(
            FieldEvidence(
                f.field,
                int(lv),
                label,
                round(float(w), 3),
                None if counted is None else round(float(counted), 3),
            )
        )
    adjust = float(model.frequency_weights(row, freq)[0])
    if adjust:
        label = "a common name" if adjust < 0 else "a rare name"
        evidence.append(FieldEvidence("name frequency", int(row[0, 0]), label, round(adjust, 3)))
    total = float(weight[0])
    probability = float(prob[0])
    if together is not None:
        support, bits = together
        # No count: in the review queue the other pairs may be of cases the reader cannot open.
        label = (
            "other people of the two requests match too"
            if support > 0
            else "no one else of the two requests matches"
        )
        counted = 0.0 if held and bits > 0 else bits
        evidence.append(
            FieldEvidence(
                "reported together",
                int(support > 0),
                label,
                round(bits, 3),
                None if counted == bits else counted,
            )
        )
        total += counted
        probability = 1.0 / (1.0 + 2.0 ** (-total))
    evidence.sort(key=lambda e: -abs(e.weight))
    guard = GUARD_NOTE if held else None
    return Explanation(
        left_id=left_id,
        right_id=right_id,
        probability=round(probability, 6),
        weight=round(total, 3),
        prior_weight=round(float(np.log2(model.prior / (1 - model.prior))), 3),
        evidence=tuple(evidence),
        guard=guard,
    )
