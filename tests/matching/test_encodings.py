"""Keyed encodings: what they keep (similarity), what they hide (values), and odd input."""

from __future__ import annotations

import numpy as np
import pytest

from haven.crypto import IndexKey
from haven.matching import names as names_module
from haven.matching.compare import LABELS, compare_pairs
from haven.matching.encodings import (
    BLOOMS,
    clear_hasher,
    dice,
    encode_records,
    phonetic_grams,
)
from haven.matching.names import normalise_name
from haven.matching.records import match_record

from .population import with_duplicates

FIXED = IndexKey(bytes(range(32)))  # a fixed key: the levels below must not depend on luck
SAME = len(LABELS["name"]) - 1
NEARLY = LABELS["name"].index("nearly the same")
ALIKE = LABELS["name"].index("alike")
WEAKLY = LABELS["name"].index("weakly alike")


def _encode(*names: str, key: IndexKey = FIXED) -> object:
    records = [match_record(id=f"r{k}", name=n, birth_year=1990) for k, n in enumerate(names)]
    return encode_records(records=records, hasher_for=key.keyed_hasher)


def _name_level(table: object, i: int, j: int) -> int:
    c = compare_pairs(left=table, right=table, i=np.array([i]), j=np.array([j]))  # type: ignore[arg-type]
    return int(c.levels[0, 0])


@pytest.mark.parametrize(
    "other",
    ["Kim Sun-hui", "Gim Seonhui", "Kim Sŏn-hŭi", "Sunhui KIM", "Kim Son Hui", "김 선희"],
)
def test_the_same_name_in_other_spellings_gets_the_top_name_level(other: str) -> None:
    assert _name_level(_encode("김선희", other), 0, 1) == SAME


def test_north_and_south_korean_hangul_agree() -> None:
    assert _name_level(_encode("리설주", "이설주"), 0, 1) == SAME


@pytest.mark.parametrize(
    ("a", "b"), [("김선희", "김순희"), ("박우연", "박우윤"), ("김영철", "김영수")]
)
def test_different_hangul_names_stay_apart(a: str, b: str) -> None:
    assert _name_level(_encode(a, b), 0, 1) <= WEAKLY


def test_a_different_surname_is_not_the_same_name() -> None:
    assert _name_level(_encode("Kim Sun-hui", "Pak Sun-hui"), 0, 1) <= ALIKE


@pytest.mark.parametrize(
    ("a", "b"),
    [("김석연", "Gim Seokyeon"), ("Kim Suk Yun", "Gim Sukyun"), ("오명일", "O Myeongil"),
     ("Ri Ho-myeong", "I Homyeong")],
)  # fmt: skip
def test_a_joined_name_that_splits_two_ways_still_gets_the_top_name_level(a: str, b: str) -> None:
    # "Seokyeon" reads 석연 or 서견: each reading has its own filter, the best pair counts.
    assert _name_level(_encode(a, b), 0, 1) == SAME


@pytest.mark.parametrize(("typo", "name"), [("Gng Yun Ji", "Kang Yun Ji"), ("Kim Nmji", "김남지")])
def test_a_name_with_one_broken_chunk_is_alike_to_the_name_it_was_typed_for(
    typo: str, name: str
) -> None:
    level = LABELS["name"][_name_level(_encode(typo, name), 0, 1)]
    assert level in ("alike", "one typo apart, alike")


@pytest.mark.parametrize(
    ("a", "b"), [("Kim Kwang Sn", "Kim Kwang Jn"), ("Gng Yun Ji", "Pak Min Su")]
)
def test_names_whose_broken_chunks_differ_are_not_the_same_name(a: str, b: str) -> None:
    assert _name_level(_encode(a, b), 0, 1) < SAME


def test_encodings_under_different_keys_share_nothing() -> None:
    a, b = _encode("김선희", key=IndexKey.generate()), _encode("김선희", key=IndexKey.generate())
    assert not set(a.block_tokens.tolist()) & set(b.block_tokens.tolist())  # type: ignore[attr-defined]
    for field in BLOOMS:
        if field == "name.edits":  # keyed tokens, not a filter: none in common
            left, right = (
                set(t.blooms[field].view(np.uint32).ravel().tolist()) - {0} for t in (a, b)
            )  # type: ignore[attr-defined]
            assert left and right and not left & right
        elif a.blooms[field].any():  # type: ignore[attr-defined]
            assert dice(a.blooms[field], b.blooms[field])[0] < 0.5  # type: ignore[attr-defined]


def test_the_same_key_gives_the_same_encodings() -> None:
    key = IndexKey.generate()
    a, b = _encode("김선희", key=key), _encode("김선희", key=key)
    assert a.block_tokens.tolist() == b.block_tokens.tolist()  # type: ignore[attr-defined]
    assert all(np.array_equal(a.blooms[f], b.blooms[f]) for f in BLOOMS)  # type: ignore[attr-defined]


def test_a_table_holds_no_values_only_ids_and_numbers() -> None:
    t = _encode("김선희", "Kim Sun-hui")
    assert t.records is None  # type: ignore[attr-defined]
    for arrays in (t.blooms, t.tokens):  # type: ignore[attr-defined]
        assert all(a.dtype == np.uint64 for a in arrays.values())


@pytest.mark.parametrize(
    "name", ["", "   ", "\x00\u200b", "Иванов Иван", "محمد", "王小明", "x" * 10_000, "김" * 10_000]
)
def test_odd_names_encode_without_error(name: str) -> None:
    t = _encode(name, "김선희")
    assert len(t) == 2  # type: ignore[arg-type]
    level = _name_level(t, 0, 1)
    assert level <= 1  # unknown (-1) or different; never a match on nothing


def test_an_empty_name_is_unknown_not_different() -> None:
    assert _name_level(_encode("", "김선희"), 0, 1) == -1


def test_a_western_single_word_is_not_read_as_a_korean_given_name() -> None:
    assert phonetic_grams(normalise_name("Talia")) == []
    assert phonetic_grams(normalise_name("김선희"))


def test_keyed_encodings_cost_almost_nothing_against_clear_hashing() -> None:
    records, truth = with_duplicates(300)
    keyed = encode_records(records=records, hasher_for=IndexKey.generate().keyed_hasher)
    clear = encode_records(records=records, hasher_for=clear_hasher)
    i, j = np.triu_indices(len(records), k=1)
    pick = np.random.default_rng(1).choice(len(i), size=20_000, replace=False)
    a = compare_pairs(left=keyed, right=keyed, i=i[pick], j=j[pick]).levels
    b = compare_pairs(left=clear, right=clear, i=i[pick], j=j[pick]).levels
    assert (a == b).all(axis=1).mean() > 0.99


def test_tables_encoded_in_chunks_match_like_one_table() -> None:
    from haven.matching.blocking import dedupe_candidates
    from haven.matching.encodings import concat_tables

    records, _ = with_duplicates(120)
    whole = encode_records(records=records, hasher_for=FIXED.keyed_hasher)
    parts = concat_tables(
        [
            encode_records(records=records[:50], hasher_for=FIXED.keyed_hasher),
            encode_records(records=records[50:], hasher_for=FIXED.keyed_hasher),
        ]
    )
    assert parts.ids == whole.ids
    assert all(np.array_equal(parts.blooms[f], whole.blooms[f]) for f in BLOOMS)
    a, b = dedupe_candidates(table=whole), dedupe_candidates(table=parts)
    assert a.left.tolist() == b.left.tolist() and a.right.tolist() == b.right.tolist()


def test_a_batch_encodes_each_record_as_it_would_alone() -> None:
    # The encoder works once per distinct name (and per distinct written form and Hangul) and
    # normalising caches surnames and syllable splits: none of it may change a record's
    # encodings. Repeated names, other spacings and casings of one name, Hangul, a typo,
    # a name that is not Korean and an empty one, each with other dates.
    names = [
        "Kim Sun-hui",
        "김선희",
        "KIM Sunhui",
        "Kim Sun-hui",
        "Kim Sun hui",
        "Gim Seonhui",
        "Kim Kwang Sn",
        "Talia Green",
        "",
        "김선희",
        "Ri Sol-ju",
    ]
    records = [
        match_record(id=f"r{k}", name=n, birth_year=1980 + k % 3, birth_month=1 + k % 2)
        for k, n in enumerate(names)
    ]
    batch = encode_records(records=records, hasher_for=clear_hasher)
    for k, record in enumerate(records):
        alone = encode_records(records=[record], hasher_for=clear_hasher)
        for field, rows in batch.blooms.items():
            assert (rows[k] == alone.blooms[field][0]).all(), (names[k], field)
        for field, values in batch.tokens.items():
            assert values[k] == alone.tokens[field][0], (names[k], field)
        assert sorted(batch.block_tokens[batch.block_rows == k].tolist()) == sorted(
            alone.block_tokens.tolist()
        ), names[k]


def test_normalising_from_warm_caches_gives_the_same_forms() -> None:
    # Surname and syllable readings are cached and shared between names: a name read with the
    # caches cold equals the same name read after others have filled them.
    names = ["Kim Sun-hui", "Sunhui KIM", "Gim Seonhui", "Ki mChi-jae", "Kim Kwang Sn", "Lee Min"]
    names_module._roman_surname_cached.cache_clear()
    names_module._chunk_readings_cached.cache_clear()
    cold = [normalise_name(n) for n in names]
    for n in reversed(names):  # the caches are warm now, filled in another order
        normalise_name(n)
    assert [normalise_name(n) for n in names] == cold


def test_concatenating_and_consuming_the_parts_gives_the_same_table_and_empties_them() -> None:
    from haven.matching.encodings import concat_tables

    from .population import with_duplicates

    records, _truth = with_duplicates(60)
    parts = [
        encode_records(records=records[lo : lo + 25], hasher_for=clear_hasher)
        for lo in range(0, len(records), 25)
    ]
    whole = concat_tables(parts)
    consumed = concat_tables(parts, consume=True)
    assert consumed.ids == whole.ids
    for f in whole.blooms:
        assert np.array_equal(consumed.blooms[f], whole.blooms[f])
    for f in whole.tokens:
        assert np.array_equal(consumed.tokens[f], whole.tokens[f])
    assert np.array_equal(consumed.block_rows, whole.block_rows)
    assert np.array_equal(consumed.block_tokens, whole.block_tokens)
    assert all(not p.blooms and not p.tokens and not len(p.block_tokens) for p in parts)
