"""Name parts written in each other's fields (a given name in the surname field and the other
way round) are compared as the whole name says (engine.swapped_name_parts). Pure Python: no
database."""

from __future__ import annotations

import numpy as np

from haven.matching.compare import Comparisons, compare_pairs
from haven.matching.encodings import clear_hasher, encode_records
from haven.matching.engine import swapped_name_parts
from haven.matching.records import MatchRecord, match_record

FIELDS = ("name", "birth", "extra.given_name", "extra.surname")


def _comps(rows: list[list[int]]) -> Comparisons:
    n = len(rows)
    return Comparisons(
        fields=FIELDS,
        left=np.arange(n),
        right=np.arange(n),
        levels=np.array(rows, dtype=np.int8),
        name_frequency=np.zeros(n, dtype=np.float32),
    )


def test_swapped_parts_take_the_whole_names_level() -> None:
    comps = _comps(
        [
            [6, 12, 0, 0],  # the same name, both parts differ: swapped
            [5, 12, 0, 0],  # nearly the same name, both parts differ: swapped, a typo
            [2, 12, 0, 0],  # names only alike: left alone
            [6, 12, 3, 0],  # one part agrees: not a swap
            [6, 12, -1, 0],  # a part unknown: left alone
        ]
    )
    swapped_name_parts(comps, ("given_name", "surname"))
    assert comps.levels[:, 2:].tolist() == [[3, 3], [2, 2], [0, 0], [3, 0], [-1, 0]]
    assert comps.levels[:, 0].tolist() == [6, 5, 2, 6, 6]  # the whole name keeps its level


def test_without_two_parts_nothing_changes() -> None:
    comps = _comps([[6, 12, 0, 0]])
    swapped_name_parts(comps, ("surname",))
    assert comps.levels[0].tolist() == [6, 12, 0, 0]


def test_the_whole_name_sees_through_the_swap() -> None:
    # What the rule rests on: the whole name does not depend on word order.
    def record(rid: str, given: str, surname: str) -> MatchRecord:
        return match_record(
            id=rid,
            name=f"{given} {surname}",
            birth_year=1980,
            extra={"given_name": given, "surname": surname},
        )

    records = [record("a", "thomas", "martinovic"), record("b", "martinovic", "thomas")]
    table = encode_records(
        records=records,
        hasher_for=clear_hasher,
        extra_fields=("given_name", "surname"),
    )
    comps = compare_pairs(left=table, right=table, i=np.array([0]), j=np.array([1]))
    f = comps.fields
    assert comps.levels[0, f.index("name")] == 6
    assert comps.levels[0, f.index("extra.given_name")] == 0
    swapped_name_parts(comps, ("given_name", "surname"))
    assert comps.levels[0, f.index("extra.given_name")] == 3
    assert comps.levels[0, f.index("extra.surname")] == 3
