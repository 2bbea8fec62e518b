"""The matcher end to end: what must match, what must not, and the guard rails."""

from __future__ import annotations

import numpy as np
import pytest

from haven.matching.blocking import dedupe_candidates
from haven.matching.compare import LABELS, compare_pairs, field_names
from haven.matching.encodings import clear_hasher, encode_records
from haven.matching.engine import find_duplicates, link_tables
from haven.matching.model import FieldModel, MatchModel, default_model
from haven.matching.records import match_record
from haven.matching.resolve import clusters, one_to_one

from .population import people, record, romanized, with_duplicates


def _f1(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> float:
    found = {tuple(sorted(p)) for p in found}  # type: ignore[misc]
    truth = {tuple(sorted(p)) for p in truth}  # type: ignore[misc]
    tp = len(found & truth)
    return 2 * tp / (len(found) + len(truth)) if found or truth else 1.0


@pytest.mark.parametrize("keep_records", [False, True])
def test_duplicates_in_other_romanizations_are_found(keep_records: bool) -> None:
    records, truth = with_duplicates(600)
    table = encode_records(records=records, hasher_for=clear_hasher, keep_records=keep_records)
    result = find_duplicates(table=table, clear_names=keep_records)
    found = {(p.left_id, p.right_id) for p in result.pairs()}
    assert _f1(found, truth) >= 0.95


def test_everyone_born_the_same_year_does_not_collapse_into_one_cluster() -> None:
    pop = people(400, same_year=1990)
    records = [record(k, p) for k, p in enumerate(pop)]
    table = encode_records(records=records, hasher_for=clear_hasher)
    result = find_duplicates(table=table)
    assert result.groups() == []
    assert len(result) == 0


def test_birth_year_and_every_coarse_field_agreeing_never_make_a_match() -> None:
    records, _ = with_duplicates(600)
    table = encode_records(records=records, hasher_for=clear_hasher)
    model = find_duplicates(table=table).model
    best = [len(f.m) - 1 for f in model.fields]
    levels = np.array([best], dtype=np.int8)
    levels[0, 0] = 0  # the names differ; birth date, sex, origin... all agree exactly
    _weight, prob = model.score(levels)
    assert prob[0] < model.threshold


def test_em_learns_that_a_different_birth_date_counts_against() -> None:
    records, _ = with_duplicates(600)
    table = encode_records(records=records, hasher_for=clear_hasher)
    model = find_duplicates(table=table).model
    birth = model.fields[1]
    assert birth.field == "birth"
    assert birth.weights[0] < -3 < 3 < birth.weights[-1]
    assert model.fields[0].weights[-1] > 3  # the same name counts for a match


def test_siblings_with_similar_names_are_not_merged() -> None:
    base = {"year": 1985, "month": 3, "day": 9, "sex": "m", "origin": "hamgyong"}
    records, _ = with_duplicates(600)
    siblings = [
        record(9001, {**base, "hangul": "김영철"}),
        record(9002, {**base, "hangul": "김영수", "year": 1987, "day": 2}),
        record(9003, {**base, "hangul": "김영호", "year": 1983, "month": 7}),
    ]
    table = encode_records(records=records + siblings, hasher_for=clear_hasher)
    result = find_duplicates(table=table)
    sibling_ids = {r.id for r in siblings}
    assert not any({p.left_id, p.right_id} <= sibling_ids for p in result.pairs())


def test_with_conflicting_birth_dates_names_only_alike_are_not_enough() -> None:
    model = default_model(fields=field_names(encode_records(records=[], hasher_for=clear_hasher)))
    alike, nearly = LABELS["name"].index("alike"), LABELS["name"].index("nearly the same")
    typo = LABELS["name"].index("one typo apart, alike")
    month_differs = LABELS["birth"].index("a year apart, month differs")
    within_a_year = LABELS["birth"].index(
        "within a year"
    )  # both a year apart; only the first conflicts
    agree = [1, 1, 1, 1, 1]  # sex, origin, occupation, group, broker: a sibling's
    rows = np.array(
        [[alike, month_differs, *agree], [nearly, month_differs, *agree],
         [alike, within_a_year, *agree], [typo, month_differs, *agree]],
        dtype=np.int8,
    )  # fmt: skip
    held = model.weak_name(rows).tolist()
    # One typo apart is not enough either: a sibling's name is often one letter from another's.
    assert held == [True, False, False, True]
    weight, _prob = model.score(rows)
    assert weight[0] < weight[1]


def test_every_proposed_match_explains_itself() -> None:
    records, _ = with_duplicates(300)
    table = encode_records(records=records, hasher_for=clear_hasher)
    result = find_duplicates(table=table)
    assert len(result)
    e = result.explain(0)
    fields = {ev.field for ev in e.evidence}
    assert {"name", "birth", "sex", "origin"} <= fields
    name = next(ev for ev in e.evidence if ev.field == "name")
    assert name.weight > 0 and name.label in ("the same name", "nearly the same", "alike")
    assert e.probability >= result.model.threshold and e.guard is None
    assert any("name" in line for line in e.lines())


def test_linking_two_files_is_one_to_one() -> None:
    pop = people(300)
    left = [record(k, p) for k, p in enumerate(pop)]
    right = [record(k, p, name=romanized(p, "mr"), copy=1) for k, p in enumerate(pop) if k % 2 == 0]
    ea = encode_records(records=left, hasher_for=clear_hasher)
    eb = encode_records(records=right, hasher_for=clear_hasher)
    result = link_tables(left=ea, right=eb)
    pairs = result.pairs()
    assert len({p.left_id for p in pairs}) == len(pairs) == len({p.right_id for p in pairs})
    correct = sum(p.left_id.split("-")[0] == p.right_id.split("-")[0] for p in pairs)
    assert correct >= 0.95 * len(right) and correct >= len(pairs) - 2


def test_chained_pairs_do_not_pull_unrelated_records_into_one_cluster() -> None:
    # 0~1, 1~2, 2~3, 3~4: each only like its neighbour. A plain connected-components pass would
    # make one cluster of five.
    left = np.array([0, 1, 2, 3])
    right = np.array([1, 2, 3, 4])
    cl = clusters(n=5, left=left, right=right, score=np.array([9.0, 8.0, 7.0, 6.0]))
    assert max(np.bincount(cl)) < 5
    # A clique of four merges fully.
    a, b = np.triu_indices(4, k=1)
    cl = clusters(n=4, left=a, right=b, score=np.ones(len(a)))
    assert len(set(cl.tolist())) == 1


def test_clusters_never_grow_past_their_limit() -> None:
    a, b = np.triu_indices(30, k=1)
    cl = clusters(n=30, left=a, right=b, score=np.ones(len(a)), max_size=12)
    assert max(np.bincount(cl)) <= 12


def test_one_to_one_keeps_the_best_pair_of_each_record() -> None:
    kept = one_to_one(
        left=np.array([0, 0, 1]), right=np.array([0, 1, 0]), score=np.array([5.0, 9.0, 7.0])
    )
    assert kept.tolist() == [1, 2]


def test_default_model_scores_without_training() -> None:
    a = encode_records(
        records=[match_record(id="a", name="김선희", birth_year=1990, birth_month=3, birth_day=1)],
        hasher_for=clear_hasher,
    )
    b = encode_records(
        records=[
            match_record(id="b", name="Kim Sun-hui", birth_year=1990, birth_month=3, birth_day=1),
            match_record(id="c", name="Pak Chol-ho", birth_year=1990, birth_month=3, birth_day=1),
        ],
        hasher_for=clear_hasher,
    )
    model = default_model(fields=field_names(a))
    comps = compare_pairs(left=a, right=b, i=np.array([0, 0]), j=np.array([0, 1]))
    _w, prob = model.score(comps.levels)
    assert prob[0] >= model.threshold > prob[1]


def test_unknown_fields_weigh_nothing() -> None:
    model = default_model(
        fields=("name", "birth", "sex", "origin", "occupation", "group", "broker")
    )
    known = np.array([[4, -1, -1, -1, -1, -1, -1]], dtype=np.int8)
    weights = model.field_weights(known)[0]
    assert weights[0] > 0 and not weights[1:].any()


def test_a_shared_rare_name_counts_more_than_a_shared_common_one() -> None:
    records, _ = with_duplicates(300)
    common = [
        match_record(id=f"c{k}", name="김민준", birth_year=1950 + k, sex="m") for k in range(40)
    ]
    table = encode_records(records=records + common, hasher_for=clear_hasher)
    model = find_duplicates(table=table).model
    same = len(LABELS["name"]) - 1
    top = np.array([[same, 3, 1, -1, -1, -1, -1]], dtype=np.int8)
    rare_w, _ = model.score(top, np.array([2 / len(table)]))
    common_w, _ = model.score(top, np.array([40 / len(table)]))
    assert rare_w[0] > common_w[0] + 3
    # Only "the same name" is adjusted: other name levels do not depend on frequency.
    alike = top.copy()
    alike[0, 0] = 2
    assert model.score(alike, np.array([0.5]))[0][0] == model.score(alike)[0][0]


def test_two_full_dates_in_the_same_year_count_less_than_a_bare_year() -> None:
    a = encode_records(
        records=[
            match_record(id="a", name="김선희", birth_year=1990, birth_month=1, birth_day=12),
            match_record(id="b", name="김선희", birth_year=1990, birth_month=7, birth_day=3),
            match_record(id="c", name="김선희", birth_year=1990),
        ],
        hasher_for=clear_hasher,
    )
    comps = compare_pairs(left=a, right=a, i=np.array([0, 0]), j=np.array([1, 2]))
    birth = comps.levels[:, 1].tolist()
    assert birth[0] < birth[1]  # "same year, month differs" below "same year"


def test_an_explanation_shows_the_name_frequency_adjustment() -> None:
    records, _ = with_duplicates(300)
    table = encode_records(records=records, hasher_for=clear_hasher)
    result = find_duplicates(table=table)
    exact = [k for k in range(len(result)) if result.levels[k, 0] == len(LABELS["name"]) - 1]
    e = result.explain(exact[0])
    freq = next(ev for ev in e.evidence if ev.field == "name frequency")
    assert freq.label in ("a rare name", "a common name") and freq.weight


def test_a_model_with_too_few_levels_is_refused_clearly() -> None:
    model = default_model(
        fields=("name", "birth", "sex", "origin", "occupation", "group", "broker")
    )
    short = MatchModel(
        tuple(
            FieldModel(f.field, f.m[:2], f.u[:2]) if f.field == "birth" else f for f in model.fields
        ),
        model.prior,
    )
    levels = np.array([[4, 7, 1, 1, 1, 1, 1]], dtype=np.int8)
    with pytest.raises(ValueError, match="2 levels for birth"):
        short.score(levels)


def test_weights_written_into_float32_match_the_float64_weights() -> None:
    records, _truth = with_duplicates(300)
    table = encode_records(records=records, hasher_for=clear_hasher)
    result = find_duplicates(table=table, release_blocks=True)
    c = dedupe_candidates(table=encode_records(records=records, hasher_for=clear_hasher))
    comps = compare_pairs(left=table, right=table, i=c.left, j=c.right)
    wide = result.model.weights(comps.levels, comps.name_frequency)
    narrow = np.empty(len(comps), dtype=np.float32)
    result.model.weights_into(comps.levels, comps.name_frequency, out=narrow)
    assert wide.dtype == np.float64 and len(wide) > 0
    np.testing.assert_allclose(narrow, wide, rtol=1e-6, atol=1e-4)
