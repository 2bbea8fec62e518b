"""One typo apart: the one-edit neighbourhood of a name's spelling, its level and its blocking pass."""

from __future__ import annotations

import numpy as np
import pytest

from haven.crypto import IndexKey
from haven.matching.blocking import dedupe_candidates
from haven.matching.compare import LABELS, compare_pairs
from haven.matching.encodings import (
    EDIT_SLOTS,
    EncodedTable,
    block_keys,
    edit_grams,
    encode_records,
)
from haven.matching.model import default_model
from haven.matching.names import normalise_name
from haven.matching.records import MatchRecord, match_record

FIXED = IndexKey(bytes(range(32)))  # a fixed key: the levels below must not depend on luck


def _table(*names: str) -> EncodedTable:
    records = [match_record(id=f"r{k}", name=n, birth_year=1990) for k, n in enumerate(names)]
    return encode_records(records=records, hasher_for=FIXED.keyed_hasher)


def _name_label(a: str, b: str) -> str:
    t = _table(a, b)
    c = compare_pairs(left=t, right=t, i=np.array([0]), j=np.array([1]))
    return LABELS["name"][int(c.levels[0, 0])]


def test_the_neighbourhood_is_the_joined_keys_and_each_letter_left_out() -> None:
    (grams,) = edit_grams(normalise_name("김선희"))
    assert grams[0] == "kimsonhi"
    assert "kimsnhi" in grams and "imsonhi" in grams and len(grams) == 1 + len("kimsonhi")


@pytest.mark.parametrize(
    ("typo", "name"),
    [
        ("Kih Ho-suk", "Kim Ho-suk"),  # a letter changed in the surname
        ("Wi Jae-mi", "Wi Jae-min"),  # a letter dropped: still a readable syllable
        ("Kim Ta-eil", "Kim Tae-il"),  # a moved syllable break costs one letter, not two syllables
        ("Kim Tea-il", "김태일"),  # two letters swapped, against the Hangul
        ("Ggm Mi-ha", "Kim Mi-ha"),  # a chunk that no longer reads: its letters are folded
        ("Gng Yun Ji", "Kang Yun Ji"),
    ],
)
def test_a_name_with_a_readable_typo_is_one_typo_apart(typo: str, name: str) -> None:
    assert _name_label(typo, name).startswith("one typo apart")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Kim Min-su", "Kim Min-jun"),  # another given syllable, two letters off
        ("Pak Sun-hui", "Kim Sun-hui"),  # another family
        ("박우연", "박우윤"),  # both in Hangul: the exact syllables decide, not the keys
    ],
)
def test_names_more_than_one_typo_apart_keep_their_level(a: str, b: str) -> None:
    assert not _name_label(a, b).startswith("one typo apart")


def test_the_same_name_stays_the_same_name_whatever_its_neighbourhood() -> None:
    assert _name_label("Kim Sun-hui", "김선희") == "the same name"


def test_one_typo_apart_ranks_between_alike_and_nearly_the_same() -> None:
    names = LABELS["name"]
    assert (
        names.index("alike")
        < names.index("one typo apart, weakly alike")
        < names.index("one typo apart, alike")
        < names.index("nearly the same")
    )


def test_the_neighbourhood_is_keyed_and_fits_its_slots() -> None:
    t = _table("Kim Sun-hui", "Gim Seon-hui")
    slots = t.blooms["name.edits"].view(np.uint32)
    assert slots.shape == (2, EDIT_SLOTS)
    assert set(slots[0].tolist()) == set(slots[1].tolist())  # one reading, one neighbourhood
    other = encode_records(
        records=[match_record(id="x", name="Kim Sun-hui", birth_year=1990)],
        hasher_for=IndexKey.generate().keyed_hasher,
    )
    assert not (set(other.blooms["name.edits"].view(np.uint32)[0].tolist()) - {0}) & set(
        slots[0].tolist()
    )


def _born(name: str, month: int) -> MatchRecord:
    return match_record(id=f"{name}-{month}", name=name, birth_year=1990, birth_month=month)


def test_a_typo_in_the_same_birth_month_is_brought_together_by_the_neighbourhood_pass() -> None:
    records = [_born("Gim Tae-il", 3), _born("Kim Tea-il", 3)]
    assert not set(block_keys(records[0])) & set(block_keys(records[1]))  # no other pass
    table = encode_records(records=records, hasher_for=FIXED.keyed_hasher)
    assert len(dedupe_candidates(table=table)) == 1


def test_the_neighbourhood_pass_needs_the_same_year_and_month() -> None:
    # A typo with another month is left to the other passes: this pass must stay narrow (it
    # would otherwise pair every name one letter from a common one).
    records = [_born("Gim Tae-il", 3), _born("Kim Tea-il", 4)]
    table = encode_records(records=records, hasher_for=FIXED.keyed_hasher)
    assert len(dedupe_candidates(table=table)) == 0


def test_one_typo_apart_with_conflicting_birth_dates_does_not_count_for_a_match() -> None:
    model = default_model(fields=("name", "birth", "group"))
    typo = LABELS["name"].index("one typo apart, alike")
    conflict = LABELS["birth"].index("a year apart, month differs")
    same_date = LABELS["birth"].index("same date")
    rows = np.array([[typo, conflict, 1], [typo, same_date, 1]], dtype=np.int8)
    weight, _ = model.score(rows)
    assert model.weak_name(rows).tolist() == [True, False]
    assert weight[0] < 0 < weight[1]


def test_a_batch_without_a_korean_name_has_empty_neighbourhoods() -> None:
    records = [match_record(id=f"w{k}", name=n, birth_year=1990, birth_month=3)
               for k, n in enumerate(["John Smith", "Jon Smith"])]  # fmt: skip
    table = encode_records(records=records, hasher_for=FIXED.keyed_hasher)
    assert not table.blooms["name.edits"].any()
    assert len(dedupe_candidates(table=table)) == 1  # the other passes still block
