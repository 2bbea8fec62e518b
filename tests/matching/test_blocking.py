"""Blocking: candidate pairs keep the true duplicates (several passes) and stay bounded."""

from __future__ import annotations

import numpy as np

from haven.matching.blocking import birth_pairs, dedupe_candidates, link_candidates
from haven.matching.encodings import clear_hasher, encode_records
from haven.matching.records import match_record

from .population import with_duplicates


def _table(*names: str, year: int | None = 1990) -> object:
    records = [match_record(id=f"r{k}", name=n, birth_year=year) for k, n in enumerate(names)]
    return encode_records(records=records, hasher_for=clear_hasher)


def _pairs(c: object) -> set[tuple[int, int]]:
    return set(zip(c.left.tolist(), c.right.tolist(), strict=True))  # type: ignore[attr-defined]


def test_hangul_and_every_romanization_of_one_name_are_paired() -> None:
    table = _table("김선희", "Kim Sun-hui", "Gim Seonhui", "Kim Sŏn-hŭi", "Sunhui KIM")
    assert len(_pairs(dedupe_candidates(table=table))) == 10  # all 5 x 4 / 2


def test_north_and_south_spellings_are_paired() -> None:
    table = _table("리설주", "이설주", "Ri Sol Ju", "Lee Seol-ju")
    assert len(_pairs(dedupe_candidates(table=table))) == 6


def test_a_typo_that_breaks_the_surname_and_a_year_slip_are_still_paired() -> None:
    records = [
        match_record(id="a", name="Gng Yun Ji", birth_year=1992),
        match_record(id="b", name="Kang Yun-ji", birth_year=1993),
    ]
    table = encode_records(records=records, hasher_for=clear_hasher)
    assert _pairs(dedupe_candidates(table=table)) == {(0, 1)}


def test_one_changed_given_syllable_is_still_paired_within_the_birth_year() -> None:
    records = [
        match_record(id="a", name="Pack Sukmyeog", birth_year=1980),
        match_record(id="b", name="Bak Suk Myeong", birth_year=1980),
        match_record(id="c", name="Bak Suk Myeong", birth_year=1975),
    ]
    table = encode_records(records=records, hasher_for=clear_hasher)
    pairs = _pairs(dedupe_candidates(table=table))
    assert (0, 1) in pairs
    assert (0, 2) not in pairs  # another syllable and another year: nothing left in common


def test_unrelated_names_are_not_paired() -> None:
    table = _table("김선희", "박철호", "michaela neumann")
    assert not _pairs(dedupe_candidates(table=table))


def test_blocking_keeps_nearly_every_true_duplicate() -> None:
    records, truth = with_duplicates(300)
    table = encode_records(records=records, hasher_for=clear_hasher)
    c = dedupe_candidates(table=table)
    ids = table.ids
    found = {(ids[i], ids[j]) for i, j in _pairs(c)}
    found |= {(b, a) for a, b in found}
    assert len(truth & found) / len(truth) >= 0.98
    assert len(c) < 300 * 300 / 20  # and far fewer than all pairs


def test_oversized_blocks_are_skipped_and_narrower_passes_still_pair() -> None:
    # 150 people named exactly alike, born across years: the whole-name block is too large,
    # the surname + birth-date and given-name + year passes still pair the same-date twins.
    records = [
        match_record(
            id=f"r{k}", name="김영철", birth_year=1950 + k % 50, birth_month=1, birth_day=1
        )
        for k in range(150)
    ]
    table = encode_records(records=records, hasher_for=clear_hasher)
    c = dedupe_candidates(table=table, max_block=100)
    assert c.skipped_blocks >= 1 and c.largest_block == 150
    assert (0, 50) in _pairs(c)  # same name, same birth date
    assert len(c) < 150 * 149 / 2


def test_link_pairs_keep_left_rows_on_the_left() -> None:
    left = _table("박철호", "김선희")
    right = _table("Kim Sun-hui", "Pak Chol-ho", "Choe Min")
    pairs = _pairs(link_candidates(left=left, right=right))
    assert pairs == {(0, 1), (1, 0)}


def test_empty_tables_give_no_candidates() -> None:
    empty = _table()
    assert len(dedupe_candidates(table=empty)) == 0
    assert len(link_candidates(left=empty, right=_table("김선희"))) == 0
    i, j = birth_pairs(left=empty)
    assert len(i) == len(j) == 0


def test_training_pairs_share_a_birth_date_even_in_huge_blocks() -> None:
    records = [
        match_record(id=f"r{k}", name=f"Name{k}", birth_year=1990, birth_month=1, birth_day=1)
        for k in range(500)
    ]
    table = encode_records(records=records, hasher_for=clear_hasher)
    i, j = birth_pairs(left=table)
    assert 0 < len(i) <= 100 * 99 / 2
    assert np.all(i != j)


def test_candidate_rows_are_32_bit_and_the_same_pairs_when_the_blocks_are_released() -> None:
    records, _truth = with_duplicates(300)
    kept = encode_records(records=records, hasher_for=clear_hasher)
    released = encode_records(records=records, hasher_for=clear_hasher)
    expected = dedupe_candidates(table=kept)
    got = dedupe_candidates(table=released, release_blocks=True)
    assert expected.left.dtype == np.int32 and expected.right.dtype == np.int32
    assert _pairs(got) == _pairs(expected) and len(got) == len(expected) > 0
    assert len(released.block_tokens) == 0 and len(released.block_rows) == 0
    assert len(kept.block_tokens) > 0  # without release_blocks the table can be blocked again
