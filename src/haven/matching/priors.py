"""What is known about records of one person before any data is seen: the priors and bounds
that keep EM's m-probabilities plausible, and the order of each field's levels.

EM estimates how often records of one person sit at each level of each field (*m*) from
unlabelled pairs. On data it was not tuned to it can settle on the wrong explanation: on an
independent Korean set it learned that 70% of true pairs conflict on birth (the truth was
0.3%), because namesakes born decades apart look, to a model with the wrong latent class, like
one person. Three things stop that here:

* **A prior mean of m per field** (:func:`field_prior`), from how records of one person differ
  in practice: names are written alike most of the time, birth dates mostly agree where both
  records know them, and where they do not it is a year off by one, day and month swapped, or a
  lunar birthday written for the solar one (rates in :data:`BIRTH_ERRORS`). The birth prior is
  *computed* from these rates and the population's own mix of precisions (how many records know
  the day, the month, only the year: :func:`birth_mix`), by encoding simulated pairs of records
  and comparing them with the matcher's own level logic, so it always fits the levels.
* **Bounds, one way only**: m of a level that disagrees may fall freely but never rise more than
  ``bits`` above its prior (a conflict can never become "what matches usually do"), and m of
  the top level (the same name, the same date) may rise freely but never fall more than
  ``bits`` below it.
* **Monotone levels** (:data:`ORDER`): agreeing on the full date is never weaker evidence than
  agreeing on the year, "the same name" never weaker than "nearly the same". Weights that break
  the order are pooled (the two levels share one weight).

A model whose EM estimate had to be held at a bound is flagged (``MatchModel.warnings``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from haven.matching.compare import BIRTH_CONFLICTS, LABELS, labels_for

FloatArray = npt.NDArray[np.float64]

# How often records of one person disagree on the birth date, per record (each of a pair may
# carry its own error). From what resettlement and NGO files show: the year is mistyped or
# misremembered by one in a few percent of records, a lunar birthday stands for the solar one
# in some, day and month are exchanged where both are 12 or less, and plain typos of the day or
# month are rarer. Bounds (below) let the data move these by a factor of three and more.
BIRTH_ERRORS: dict[str, float] = {
    "year_one_off": 0.04,
    "year_far": 0.004,
    "lunar": 0.05,
    "swap": 0.015,
    "day_typo": 0.012,
    "month_typo": 0.008,
}

# (stronger, weaker) pairs of levels per field: the weight of the first is never below the
# weight of the second. Levels without an edge between them are free (a typo-apart name and an
# alike one measure different things).
ORDER: dict[str, tuple[tuple[int, int], ...]] = {
    # different, weakly alike, alike, typo+weakly alike, typo+alike, nearly the same, same
    "name": ((6, 5), (5, 4), (4, 3), (4, 2), (3, 1), (2, 1), (1, 0)),
    "birth": (
        (12, 11),  # same date ≥ same year and month
        (11, 7),  # same year and month ≥ same year
        (7, 6),  # same year ≥ within a year
        (11, 8),  # same year and month ≥ a year apart, same month
        (8, 6),  # a year apart, same month ≥ within a year
        (12, 10),  # same date ≥ same day and month, a year apart
        (10, 8),
        (12, 9),  # same date ≥ day and month swapped
        (9, 3),  # swapped ≥ same year, month differs
        (12, 5),  # same date ≥ 20 to 50 days apart
        (5, 4),
        (5, 3),
        (5, 2),
        (11, 4),  # same year and month ≥ same year and month, day differs
        (7, 3),  # same year ≥ same year, month differs
        (6, 2),  # within a year ≥ a year apart, month differs
        (4, 0),
        (3, 0),
        (2, 0),
        (1, 0),
    ),
    # different provinces, same historic province, same province other towns, same province,
    # same place
    "origin": ((4, 3), (3, 2), (3, 1), (2, 0), (1, 0)),
    "occupation": ((2, 1), (1, 0)),
}


def order_for(field: str, n_levels: int) -> tuple[tuple[int, int], ...]:
    """The (stronger, weaker) level pairs of a field; a chain for fields not listed."""
    known = ORDER.get(field)
    if known is not None and n_levels == len(LABELS[field]):
        return known
    return tuple((k + 1, k) for k in range(n_levels - 1))


@dataclass(frozen=True, slots=True)
class FieldPrior:
    """The prior mean of m over a field's levels, its strength (in pseudo-pairs pulling EM's
    estimate towards it) and the bounds EM's m must stay within."""

    m: tuple[float, ...]
    strength: float
    low: tuple[float, ...]
    high: tuple[float, ...]


# Prior means of m (lowest level first) for fields whose levels do not depend on the data's
# precision, and how many bits a level may move against its direction (see the module doc).
_PRIOR_M: dict[str, tuple[tuple[float, ...], float]] = {
    # Names: most true pairs read as the same name; a transliteration the reader cannot bridge
    # or two typos leave a few "different" (the independent set: 88% "the same name").
    "name": ((0.02, 0.03, 0.05, 0.02, 0.03, 0.10, 0.75), 2.0),
    "sex": ((0.02, 0.98), 2.0),
    # Origins: written as a town or a province, in many spellings; another province is rare
    # for one person, but a birthplace and a last home may differ.
    "origin": ((0.06, 0.06, 0.06, 0.42, 0.40), 1.5),
    # Occupations change and are described differently: a weak field.
    "occupation": ((0.15, 0.45, 0.40), 1.5),
    "group": ((0.30, 0.70), 3.0),
    "broker": ((0.30, 0.70), 3.0),
}
_EXTRA_PRIOR = ((0.05, 0.05, 0.15, 0.75), 3.0)
STRENGTH = 200.0  # pseudo-pairs: EM needs a few hundred pairs to move a level's m far
MIN_M = 1e-5


def _bounds(
    m: FloatArray, against: frozenset[int], bits: float
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A level that counts against a match may not rise more than ``bits`` above its prior,
    the top level may not fall more than ``bits`` below; the levels between are held by the
    prior's pull and the field's order only (how often a typo or a year slip happens differs
    from one set of records to the next; that the same date is what one person's records
    usually share does not)."""
    low, high = [], []
    top = len(m) - 1
    for k, p in enumerate(m.tolist()):
        low.append(max(MIN_M, p / 2.0**bits) if k == top else MIN_M)
        high.append(min(1.0, p * 2.0**bits) if k in against else 1.0)
    return tuple(low), tuple(high)


def never_for(field: str) -> frozenset[int]:
    """Levels that can never count *for* a match: different names, conflicting birth dates,
    another province, another kind of work, a differing exact field."""
    if field == "name":
        return frozenset({0, 1})
    if field == "birth":
        return BIRTH_CONFLICTS
    return frozenset({0})


def field_prior(
    field: str, n_levels: int, mix: tuple[float, float, float] | None = None
) -> FieldPrior:
    """The prior of ``field`` (``n_levels`` levels). Birth needs the population's ``mix`` of
    precisions (:func:`birth_mix`); without it a typical mix is assumed."""
    if field == "birth" and n_levels == len(LABELS["birth"]):
        m = np.array(birth_prior_m(_rounded(mix or TYPICAL_MIX)))
        bits = 2.0
    else:
        key = "extra" if field.startswith("extra.") or field not in _PRIOR_M else field
        shape, bits = _PRIOR_M.get(key, _EXTRA_PRIOR)
        if len(shape) != n_levels:
            shape = tuple(4.0**k for k in range(n_levels))
        m = np.array(shape, dtype=np.float64)
    m = m / m.sum()
    against = never_for(field) if n_levels == len(labels_for(field)) else frozenset({0})
    low, high = _bounds(m, against, bits)
    return FieldPrior(tuple(m.tolist()), STRENGTH, low, high)


# --- Birth: the prior computed from the error rates and the data's precisions ------------------

# Shares of records (with a year) that know the day, only the month, only the year: the
# product's records when nothing else is known (about a third with a full date).
TYPICAL_MIX = (0.35, 0.25, 0.40)
_SIMULATED = 8_000


def birth_mix(day: int, month: int, year: int) -> tuple[float, float, float]:
    """Shares of records knowing the day, only the month, only the year (from counts)."""
    total = day + month + year
    if total <= 0:
        return TYPICAL_MIX
    return (day / total, month / total, year / total)


def _rounded(mix: tuple[float, float, float]) -> tuple[float, float, float]:
    # A cache key: precisions measured to the percent change the prior by nothing that matters.
    d, m, y = (round(max(0.0, x), 2) for x in mix)
    total = d + m + y or 1.0
    return (round(d / total, 2), round(m / total, 2), round(y / total, 2))


def _written(
    true: tuple[int, int, int], precision: int, rng: random.Random
) -> tuple[int, int | None, int | None]:
    """One record's birth date: the true date with at most one of the usual errors, cut to
    ``precision`` (0 the day, 1 the month, 2 the year)."""
    import datetime as dt

    y, m, d = true
    e = BIRTH_ERRORS
    roll = rng.random()
    if roll < e["lunar"]:
        moved = dt.date(y, m, d) - dt.timedelta(days=rng.randint(20, 50))
        y, m, d = moved.year, moved.month, moved.day
    elif (roll := roll - e["lunar"]) < e["year_one_off"]:
        y += rng.choice((-1, 1))
    elif (roll := roll - e["year_one_off"]) < e["year_far"]:
        y += rng.choice((-1, 1)) * rng.randint(2, 12)
    elif (roll := roll - e["year_far"]) < e["swap"]:
        if d <= 12:
            m, d = d, m
    elif (roll := roll - e["swap"]) < e["day_typo"]:
        d = rng.randint(1, 28)
    elif roll - e["day_typo"] < e["month_typo"]:
        m = rng.randint(1, 12)
    if precision == 2:
        return y, None, None
    if precision == 1:
        return y, m, None
    return y, m, d


@lru_cache(maxsize=64)
def birth_prior_m(mix: tuple[float, float, float]) -> tuple[float, ...]:
    """m over the birth levels for pairs of one person's records, each record's precision
    drawn from ``mix`` and its date carrying :data:`BIRTH_ERRORS`. Computed by encoding
    simulated pairs (unkeyed: nothing here is real) and comparing them with the matcher's own
    birth levels, so the prior fits the levels exactly; fixed seed, so always the same."""
    return _simulated_levels(mix, same_person=True)


@lru_cache(maxsize=8)
def birth_random_u(mix: tuple[float, float, float]) -> tuple[float, ...]:
    """u over the birth levels for two people born at random between 1950 and 2005 (for the
    fixed model, which has no random pairs of its own to measure u on)."""
    return _simulated_levels(mix, same_person=False)


def _simulated_levels(mix: tuple[float, float, float], *, same_person: bool) -> tuple[float, ...]:
    from haven.matching.compare import _birth_levels
    from haven.matching.encodings import clear_hasher, encode_records
    from haven.matching.records import match_record

    rng = random.Random(19)  # noqa: S311  # nosec B311  # a simulation, not a secret
    records = []
    for k in range(_SIMULATED):
        true = (rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28))
        for side in "ab":
            precision = rng.choices((0, 1, 2), weights=mix)[0]
            if not same_person:
                true = (rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28))
            year, month, day = _written(true, precision, rng)
            records.append(
                match_record(
                    id=f"{k}{side}", name="x", birth_year=year, birth_month=month, birth_day=day
                )
            )
    table = encode_records(records=records, hasher_for=clear_hasher)
    left = np.arange(0, 2 * _SIMULATED, 2, dtype=np.int64)
    levels = _birth_levels(table, table, left, left + 1)
    counts = np.bincount(levels[levels >= 0].astype(np.int64), minlength=len(LABELS["birth"]))
    m = counts.astype(np.float64) + 0.5  # every level possible, however rare
    return tuple((m / m.sum()).tolist())
