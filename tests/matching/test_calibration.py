"""Scores that mean what they say: the prior over all pairs, conflicting birth dates, blocking
that survives a common name with a mistyped year, and a stored model reused without training."""

from __future__ import annotations

import numpy as np

from haven.matching.blocking import dedupe_candidates
from haven.matching.compare import LABELS, compare_pairs
from haven.matching.encodings import block_keys, clear_hasher, encode_records
from haven.matching.engine import find_duplicates, train_model
from haven.matching.model import NEVER_FOR, default_model, pair_prior
from haven.matching.records import match_record

from .population import with_duplicates

Date = tuple[int, int | None, int | None]


def _birth_label(a: Date, b: Date) -> str:
    records = [
        match_record(id=str(k), name="김영수", birth_year=y, birth_month=m, birth_day=d)
        for k, (y, m, d) in enumerate((a, b))
    ]
    table = encode_records(records=records, hasher_for=clear_hasher)
    comps = compare_pairs(left=table, right=table, i=np.array([0]), j=np.array([1]))
    return LABELS["birth"][int(comps.levels[0, 1])]


def test_two_full_dates_that_disagree_get_conflicting_levels() -> None:
    assert _birth_label((1980, 3, 5), (1981, 7, 9)) == "a year apart, month differs"
    assert _birth_label((1980, 3, 5), (1980, 3, 9)) == "same year and month, day differs"
    assert _birth_label((1980, 3, 5), (1981, 3, 5)) == "same day and month, a year apart"
    assert _birth_label((1980, 3, 5), (1980, 3, 5)) == "same date"


def test_a_year_apart_in_the_same_month_is_told_from_a_year_apart_with_the_month_unknown() -> None:
    # A mistyped year keeps the month; strangers a year apart share it one time in twelve.
    assert _birth_label((1980, 3, None), (1981, 3, 5)) == "a year apart, same month"
    assert _birth_label((1980, None, None), (1981, 3, 5)) == "within a year"
    assert _birth_label((1980, 3, 5), (1981, 3, 9)) == "within a year"  # both days known


def test_a_year_apart_in_the_same_month_counts_for_more_than_within_a_year() -> None:
    weights = default_model(fields=("name", "birth")).fields[1].weights
    labels = LABELS["birth"]
    assert (
        weights[labels.index("a year apart, same month")] > weights[labels.index("within a year")]
    )


def test_conflicting_birth_dates_never_count_for_a_match() -> None:
    model = default_model(fields=("name", "birth"))
    weights = model.fields[1].weights
    for label in ("a year apart, month differs", "same year and month, day differs"):
        level = LABELS["birth"].index(label)
        assert level in NEVER_FOR["birth"]
        assert weights[level] <= 0


def test_namesakes_born_the_same_year_with_other_dates_are_not_merged() -> None:
    records, _truth = with_duplicates(600)
    # Twelve different people called 김영수, born in 1980 on different days.
    namesakes = [
        match_record(id=f"k{k}", name="김영수", birth_year=1980, birth_month=1 + k, birth_day=k + 3)
        for k in range(12)
    ]
    table = encode_records(records=records + namesakes, hasher_for=clear_hasher)
    result = find_duplicates(table=table)
    paired = {p.left_id for p in result.pairs()} | {p.right_id for p in result.pairs()}
    assert not {r.id for r in namesakes} & paired


def test_the_prior_over_all_pairs_falls_as_the_population_grows() -> None:
    records, _truth = with_duplicates(600)
    table = encode_records(records=records, hasher_for=clear_hasher)
    result = find_duplicates(table=table)
    cands = dedupe_candidates(table=table)
    comps = compare_pairs(left=table, right=table, i=cands.left, j=cands.right)
    small = pair_prior(
        model=result.model,
        levels=comps.levels,
        name_frequency=comps.name_frequency,
        total_pairs=1e5,
    )
    large = pair_prior(
        model=result.model,
        levels=comps.levels,
        name_frequency=comps.name_frequency,
        total_pairs=1e7,
    )
    assert 0 < large < small < 1
    assert (
        pair_prior(
            model=result.model, levels=comps.levels[:0], name_frequency=None, total_pairs=1e5
        )
        > 0
    )


def test_a_trained_model_scores_again_without_training() -> None:
    records, truth = with_duplicates(600)
    table = encode_records(records=records, hasher_for=clear_hasher)
    model, candidates = train_model(table=table)
    assert candidates > 0
    first = {(p.left_id, p.right_id) for p in find_duplicates(table=table).pairs()}
    again = {(p.left_id, p.right_id) for p in find_duplicates(table=table, model=model).pairs()}
    assert again == first
    assert len(again & truth) >= 0.9 * len(truth)


def test_a_common_name_with_a_mistyped_year_still_meets_its_duplicate() -> None:
    # Sixty people called 김영수 over the years: the name's own block is too big and skipped.
    crowd = [
        match_record(
            id=f"c{k}",
            name="김영수",
            birth_year=1960 + k % 40,
            birth_month=1 + k % 12,
            birth_day=1 + k % 28,
        )
        for k in range(60)
    ]
    a = match_record(id="a", name="김영수", birth_year=1975, birth_month=11, birth_day=30)
    b = match_record(id="b", name="Kim Yŏng-su", birth_year=1976, birth_month=11, birth_day=30)
    table = encode_records(records=[*crowd, a, b], hasher_for=clear_hasher)
    cands = dedupe_candidates(table=table)
    pairs = {(table.ids[i], table.ids[j]) for i, j in zip(cands.left, cands.right, strict=True)}
    assert ("a", "b") in pairs


def test_blocking_keys_stay_bounded_for_empty_and_huge_names() -> None:
    assert block_keys(match_record(id="e", name="", birth_year=1980)) == []
    huge = match_record(
        id="h",
        name="김" * 10_000 + " Kim Yong Su" * 500,
        birth_year=1980,
        birth_month=1,
        birth_day=2,
    )
    keys = block_keys(huge)
    assert 0 < len(keys) <= 200
    table = encode_records(records=[huge, huge], hasher_for=clear_hasher)
    assert len(table.block_tokens) == 2 * len(set(keys)) or len(table.block_tokens) > 0
