"""Training that cannot run away, birth dates as real records write them, origins as places,
occupations as written, and explanations that add up."""

from __future__ import annotations

import random

import numpy as np
import pytest

from haven.matching.compare import LABELS, compare_pairs, field_names
from haven.matching.encodings import clear_hasher, encode_records
from haven.matching.engine import find_duplicates, people_frequency, train_model
from haven.matching.explain import explain
from haven.matching.model import default_model
from haven.matching.priors import ORDER, birth_prior_m, field_prior
from haven.matching.records import match_record

from .population import with_duplicates


def _level(field: str, a: dict, b: dict) -> str:
    records = [match_record(id=str(k), name="김영수", **kw) for k, kw in enumerate((a, b))]
    table = encode_records(records=records, hasher_for=clear_hasher)
    comps = compare_pairs(left=table, right=table, i=np.array([0]), j=np.array([1]))
    level = int(comps.levels[0, comps.fields.index(field)])
    return "unknown" if level < 0 else LABELS[field][level]


def _date(y: int, m: int | None = None, d: int | None = None, cal: str = "") -> dict:
    return {"birth_year": y, "birth_month": m, "birth_day": d, "birth_calendar": cal}


@pytest.mark.parametrize(
    ("a", "b", "label"),
    [
        (_date(1980, 3, 5), _date(1980, 5, 3), "day and month swapped"),
        # A lunar birthday written 20 to 50 days before the solar one, across a year too.
        (_date(1980, 2, 10), _date(1980, 3, 15), "20 to 50 days apart (a lunar date?)"),
        (_date(1979, 12, 20), _date(1980, 1, 28), "20 to 50 days apart (a lunar date?)"),
        (_date(1980, 2, 10, "lunar"), _date(1980, 3, 15, "solar"), "20 to 50 days apart (a lunar date?)"),
        (_date(1980, 2), _date(1980, 3, 20), "20 to 50 days apart (a lunar date?)"),
        (_date(1981, 3, 5), _date(1980, 3, 5), "same day and month, a year apart"),
        (_date(1980), _date(1980, 3, 5), "same year"),
        (_date(1980, 3, 5), _date(1980, 3, 5), "same date"),
    ],
)  # fmt: skip
def test_birth_dates_as_real_records_write_them(a: dict, b: dict, label: str) -> None:
    assert _level("birth", a, b) == label


def test_two_dates_said_to_be_in_the_same_calendar_are_not_a_lunar_offset() -> None:
    assert _level("birth", _date(1980, 2, 10, "solar"), _date(1980, 3, 15, "solar")) == (
        "same year, month differs"
    )
    assert _level("birth", _date(1980, 2, 10, "lunar"), _date(1980, 3, 15, "lunar")) == (
        "same year, month differs"
    )
    # Six months apart is no lunar date.
    assert _level("birth", _date(1980, 2, 10), _date(1980, 8, 15)) == "same year, month differs"


@pytest.mark.parametrize(
    ("a", "b", "label"),
    [
        ("North Hamgyong", "함경북도", "same province"),
        ("Chongjin", "함북", "same province"),  # a city for its province
        ("청진시", "Ch'ŏngjin", "same place"),
        ("Chongjin", "Hoeryong", "same province, other towns"),
        ("Hyesan", "Hamhung", "same historic province"),
        ("Hyesan", "Pyongyang", "different provinces"),
        ("Seoul", "Shenyang", "unknown"),  # places the tables do not know: never "different"
        ("Nanam-guyok", "Nanam-guyok", "same place"),
        ("Hamgyong", "South Hamgyong", "same historic province"),
    ],
)
def test_origins_are_compared_as_places(a: str, b: str, label: str) -> None:
    assert _level("origin", {"origin": a}, {"origin": b}) == label


@pytest.mark.parametrize(
    ("a", "b", "label"),
    [
        ("식당 복무원", "waitress", "same kind of work"),
        ("restaurant_worker", "식당 접대원", "same kind of work"),  # an old code and free text
        ("무역일꾼", "무역일꾼", "the same"),
        ("farmer", "waitress", "different kind of work"),
        ("other", "other", "unknown"),  # the old "other" says nothing
        ("itinerant", "waitress", "unknown"),  # unrecognised: not a different kind
        ("unknown", "farmer", "unknown"),
    ],
)
def test_occupations_are_compared_as_written_and_by_kind(a: str, b: str, label: str) -> None:
    assert _level("occupation", {"occupation": a}, {"occupation": b}) == label


def _namesakes(n_people: int, seed: int = 3) -> list:
    """People who share a few names, each born in another year, most recorded twice with the
    year sometimes off by one: the population where EM once learned that a conflicting birth
    date is what one person's records usually show."""
    rng = random.Random(seed)
    names = ["김영숙", "이영희", "박정숙", "김정희", "최순자"]
    records = []
    for p in range(n_people):
        name = rng.choice(names)
        year = rng.randint(1950, 2000)
        sex = "f"
        for copy in range(1 + (rng.random() < 0.6)):
            y = year + (rng.random() < 0.05) * rng.choice((-1, 1))
            records.append(
                match_record(id=f"{p}-{copy}", name=name, birth_year=y, sex=sex, origin="함북")
            )
    return records


def test_training_cannot_learn_that_conflicting_birth_dates_are_common() -> None:
    table = encode_records(records=_namesakes(3000), hasher_for=clear_hasher)
    model, _cands = train_model(table=table)
    birth = model.fields[1]
    labels = LABELS["birth"]
    assert birth.weights[labels.index("different")] < -3
    prior = field_prior("birth", len(labels))
    for level in range(len(labels)):
        assert birth.m[level] <= prior.high[level] + 1e-9


def test_every_trained_level_keeps_its_order() -> None:
    records, _truth = with_duplicates(900)
    model, _cands = train_model(table=encode_records(records=records, hasher_for=clear_hasher))
    for f in model.fields:
        w = f.weights
        for stronger, weaker in ORDER.get(f.field, ()):
            assert w[stronger] >= w[weaker] - 1e-6, (f.field, stronger, weaker)


def test_a_model_whose_data_disagree_with_what_is_known_is_flagged() -> None:
    # Every "same person" pair of this population conflicts on the birth date.
    rng = random.Random(5)
    records = []
    for p in range(1500):
        name = f"김{'민서지현수영준우진성희은정하연'[p % 15]}{'윤혜경철호석미숙동재상광명옥순'[p // 15 % 15]}"
        for copy in range(2):
            records.append(
                match_record(
                    id=f"{p}-{copy}",
                    name=name,
                    birth_year=1960 + p % 40 + 5 * copy,
                    birth_month=rng.randint(1, 12),
                    birth_day=rng.randint(1, 28),
                )
            )
    model, _cands = train_model(table=encode_records(records=records, hasher_for=clear_hasher))
    assert any(w.startswith("birth:") for w in model.warnings)
    assert model.fields[1].weights[LABELS["birth"].index("different")] < 0


def test_reviewers_decisions_count_in_training() -> None:
    records, truth = with_duplicates(900)
    table = encode_records(records=records, hasher_for=clear_hasher)
    decisions = [(a, b, True) for a, b in sorted(truth)[:40]]
    decisions += [(records[0].id, records[5].id, False), ("no-such-id", records[1].id, True)]
    model, _cands = train_model(table=table, decisions=decisions)
    assert model.labelled == 41  # the pair naming an unknown record is skipped
    result = find_duplicates(table=table, decisions=decisions)
    assert result.model.labelled == 41


def test_a_name_recorded_several_times_for_one_person_counts_as_that_person_s() -> None:
    records = [match_record(id=str(k), name="김영숙") for k in range(4)]
    records += [match_record(id="x", name="김영숙")]
    table = encode_records(records=records, hasher_for=clear_hasher)
    # The first four may be one person's records (pairs found at p >= 0.15).
    left, right = np.array([0, 0, 0, 1, 1, 2]), np.array([1, 2, 3, 2, 3, 3])
    freq = people_frequency(table=table, left=left, right=right)
    assert freq[0] == pytest.approx(1 / 5)  # one other person's record holds the name
    assert freq[4] == pytest.approx(4 / 5)  # for the fifth, four records of another person


def test_each_field_s_weight_is_shown_and_they_add_up_to_the_score() -> None:
    model = default_model(fields=field_names(encode_records(records=[], hasher_for=clear_hasher)))
    levels = np.array([6, 12, 1, 3, 1, -1, -1], dtype=np.int8)
    e = explain(model=model, levels=levels, left_id="a", right_id="b", name_frequency=0.001)
    counted = sum(ev.weight if ev.counted is None else ev.counted for ev in e.evidence)
    assert counted + e.prior_weight == pytest.approx(e.weight, abs=0.01)
    assert {ev.field for ev in e.evidence} >= {"name", "birth", "sex", "origin", "occupation"}
    assert any(line.startswith("  prior:") for line in e.lines())
    # Held back by the name guard: shown with what was counted.
    weak = explain(
        model=model,
        levels=np.array([1, 12, 1, 3, 1, -1, -1], dtype=np.int8),
        left_id="a",
        right_id="b",
    )
    birth = next(ev for ev in weak.evidence if ev.field == "birth")
    assert birth.weight > 0 and birth.counted == 0 and birth.held_back


def test_the_birth_prior_follows_the_population_s_precisions() -> None:
    labels = LABELS["birth"]
    full = birth_prior_m((1.0, 0.0, 0.0))
    years = birth_prior_m((0.0, 0.0, 1.0))
    assert full[labels.index("same date")] > 0.6
    assert years[labels.index("same date")] < 0.01
    assert years[labels.index("same year")] > 0.8


def test_the_fixed_birth_parameters_are_what_the_simulation_computes() -> None:
    from haven.matching.model import DEFAULT_PARAMETERS, simulated_birth_parameters

    m, u = simulated_birth_parameters()
    fixed_m, fixed_u = DEFAULT_PARAMETERS["birth"]
    assert np.allclose(m, fixed_m, atol=1e-5) and np.allclose(u, fixed_u, atol=1e-5)
