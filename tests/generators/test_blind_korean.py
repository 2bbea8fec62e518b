"""The blind generator of Korean person records: deterministic, in the product's input shape,
with the rates real records have, and with ground truth that nothing else in a record gives away."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from itertools import combinations
from typing import Any

import pytest
from benchmarks.generators import blind_korean
from benchmarks.generators.blind_korean import Rates, generate

pytestmark: list[pytest.MarkDecorator] = []  # plain tests: no database

FIELDS = {
    "record_id": str,
    "entity_id": str,
    "name_hangul": str,
    "name_romanized": str,
    "aliases": list,
    "sex": str,
    "birth_value": str,
    "birth_precision": str,
    "birth_calendar": str,
    "origin_region": str,
    "occupation": str,
    "broker_alias": str,
    "request_key": str,
    "channel": str,
    "reported_at": str,
}
BIRTH_FORMATS = {"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d"}


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return generate(4000, seed=20240517)


def test_the_same_seed_gives_the_same_records_and_another_seed_others() -> None:
    assert generate(500, seed=3) == generate(500, seed=3)
    assert generate(500, seed=3) != generate(500, seed=4)


def test_it_gives_exactly_the_number_of_records_asked_for() -> None:
    assert [len(generate(n, seed=1)) for n in (0, 1, 7, 333)] == [0, 1, 7, 333]
    with pytest.raises(ValueError):
        generate(-1, seed=1)


def test_every_record_has_the_products_input_fields_with_allowed_values(
    records: list[dict[str, Any]],
) -> None:
    assert len({rec["record_id"] for rec in records}) == len(records)
    for rec in records:
        assert set(rec) == set(FIELDS)
        for name, kind in FIELDS.items():
            assert isinstance(rec[name], kind), (name, rec)
        assert rec["sex"] in ("female", "male", "other", "unknown")
        assert rec["birth_precision"] in ("year", "month", "day", "unknown")
        assert rec["birth_calendar"] in ("solar", "lunar", "")
        assert rec["channel"] in ("broker", "direct_line", "partner", "staff")
        assert all(isinstance(a, str) and a for a in rec["aliases"])
        # the product refuses a person with no name, alias or nickname at all
        assert rec["name_hangul"] or rec["name_romanized"] or rec["aliases"]
        assert max(len(rec["name_hangul"]), len(rec["name_romanized"])) <= 200
        assert len(rec["origin_region"]) <= 200
        if rec["channel"] != "broker":
            assert rec["broker_alias"] == ""
        reported = dt.date.fromisoformat(rec["reported_at"])
        precision, value = rec["birth_precision"], rec["birth_value"]
        if precision == "unknown":
            # nothing, or a month (and day) without a year: "--03", "--03-05"
            assert value == "" or re.fullmatch(r"--\d\d(-\d\d)?", value), rec
        else:
            born = dt.datetime.strptime(value, BIRTH_FORMATS[precision]).date()  # noqa: DTZ007
            assert dt.date(1900, 1, 1) <= born <= reported, rec


def test_about_one_point_nine_records_per_person_with_a_tail(
    records: list[dict[str, Any]],
) -> None:
    per_person = Counter(rec["entity_id"] for rec in records)
    mean = len(records) / len(per_person)
    assert 1.75 <= mean <= 2.1
    sizes = Counter(per_person.values())
    assert 0.40 <= sizes[1] / len(per_person) <= 0.65
    assert sum(n for k, n in sizes.items() if k >= 4) > 0


def test_about_a_third_of_records_have_a_full_birth_date(records: list[dict[str, Any]]) -> None:
    precision = Counter(rec["birth_precision"] for rec in records)
    assert 0.28 <= precision["day"] / len(records) <= 0.39
    assert precision["year"] > precision["day"]
    assert precision["unknown"] > 0 and precision["month"] > 0
    assert any(rec["birth_calendar"] == "lunar" for rec in records)


def test_names_are_missing_in_one_script_or_the_other_on_some_records(
    records: list[dict[str, Any]],
) -> None:
    hangul_only = sum(1 for r in records if r["name_hangul"] and not r["name_romanized"])
    latin_only = sum(1 for r in records if r["name_romanized"] and not r["name_hangul"])
    assert hangul_only > 0.1 * len(records) and latin_only > 0.05 * len(records)


def test_most_people_are_women_and_most_come_from_the_north_east(
    records: list[dict[str, Any]],
) -> None:
    sex = Counter(rec["sex"] for rec in records)
    assert sex["female"] > 2 * sex["male"] > 0 and sex["unknown"] > 0
    origins = Counter(rec["origin_region"] for rec in records if rec["origin_region"])
    assert len(origins) >= 50
    north_east = ("함경북도", "함북", "North Hamgyong", "양강도", "량강도", "Ryanggang", "혜산")
    assert sum(origins[o] for o in north_east) > 0.3 * sum(origins.values())


def test_the_entity_id_follows_from_nothing_else_in_the_record(
    records: list[dict[str, Any]],
) -> None:
    # Different people share every name field (namesakes written alike) ...
    people_by_name: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for rec in records:
        if rec["name_hangul"] and rec["name_romanized"]:
            key = (rec["name_hangul"], rec["name_romanized"], rec["sex"])
            people_by_name[key].add(rec["entity_id"])
    assert any(len(people) > 1 for people in people_by_name.values())
    # ... and one person's records can share no name at all.
    names_by_person: dict[str, list[set[str]]] = defaultdict(list)
    for rec in records:
        written = {rec["name_hangul"], rec["name_romanized"], *rec["aliases"]} - {""}
        names_by_person[rec["entity_id"]].append(written)
    assert any(
        not (a & b)
        for written in names_by_person.values()
        for a, b in zip(written, written[1:], strict=False)
    )
    # Identifiers are random tokens: sorting by them does not group a person's records.
    by_id = sorted(records, key=lambda rec: rec["record_id"])
    neighbours = sum(
        a["entity_id"] == b["entity_id"] for a, b in zip(by_id, by_id[1:], strict=False)
    )
    assert neighbours < 0.01 * len(records)


def test_siblings_share_a_surname_a_generation_syllable_and_a_request(
    records: list[dict[str, Any]],
) -> None:
    by_request: dict[str, dict[str, str]] = defaultdict(dict)
    for rec in records:
        name = rec["name_hangul"].replace(" ", "")
        if len(name) == 3:
            by_request[rec["request_key"]][rec["entity_id"]] = (
                blind_korean.south(name[0]) + name[1:]
            )
    sibling_like = sum(
        1
        for people in by_request.values()
        for a, b in combinations(people.values(), 2)
        if a[0] == b[0] and a != b and (a[1] == b[1] or a[2] == b[2])
    )
    assert sibling_like >= 5


def test_the_rates_are_parameters() -> None:
    rates = Rates(records_per_person={1: 1.0}, listed_twice_in_request=0.0)
    records = generate(300, seed=5, rates=rates)
    assert len({rec["entity_id"] for rec in records}) == 300


def test_romanizers_follow_their_systems() -> None:
    assert blind_korean.rr("영희") == ["yeong", "hui"]
    assert blind_korean.mr("영희") == ["yŏng", "hŭi"]
    assert blind_korean.mr("복남") == ["pong", "nam"]  # nasal assimilation
    assert blind_korean.mr("대중") == ["tae", "jung"]  # voicing after a vowel
    # an aspirate stays voiceless when its apostrophe is dropped
    assert blind_korean.mr("용철", o="o", apostrophe="") == ["yong", "chol"]
    assert blind_korean.nk("리설주") == ["ri", "sol", "ju"]
    assert [blind_korean.south(s) for s in "리로련녀"] == list("이노연여")
