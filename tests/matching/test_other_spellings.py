"""A record's romanized name as a second reading of its Hangul name (names.with_other_spelling):
two records of one person whose Hangul differs but whose romanization agrees are brought
together and compared as the same name; strangers are not joined by it. Pure Python: no
database."""

from __future__ import annotations

import numpy as np

from haven.dedupe.scoring import record_from_payload
from haven.matching.compare import LABELS, compare_pairs
from haven.matching.encodings import ENCODING_VERSION, block_keys, clear_hasher, encode_records
from haven.matching.names import normalise_name, with_other_spelling
from haven.matching.records import MatchRecord, match_record


def _name_labels(records: list[MatchRecord], pairs: list[tuple[int, int]]) -> list[str]:
    table = encode_records(records=records, hasher_for=clear_hasher)
    i = np.array([a for a, _ in pairs])
    j = np.array([b for _, b in pairs])
    levels = compare_pairs(left=table, right=table, i=i, j=j).levels[:, 0]
    return [LABELS["name"][k] for k in levels]


def test_an_agreeing_romanization_adds_nothing() -> None:
    forms = normalise_name("김선희")
    assert with_other_spelling(forms, "Kim Seon-hui") is forms
    assert with_other_spelling(forms, "Gim Sŏn-hŭi") is forms
    # Unreadable or given-name-only spellings add nothing either.
    assert with_other_spelling(forms, "Natasha") is forms
    assert with_other_spelling(forms, "") is forms


def test_a_disagreeing_romanization_is_the_second_reading() -> None:
    forms = with_other_spelling(normalise_name("이만준"), "Lee Min-jun")
    assert forms.other == "Lee Min-jun"
    assert [r.key for r in forms.readings][:1] == [normalise_name("이만준").readings[0].key]
    assert forms.readings[1].key == normalise_name("이민준").readings[0].key
    # It blocks on both readings.
    mine = normalise_name("이민준").tokens[0]
    assert mine.startswith("n:") and mine in forms.tokens
    assert normalise_name("이만준").tokens[0] in forms.tokens


def test_records_of_one_person_with_different_hangul_are_candidates_and_the_same_name() -> None:
    # One person: a vowel slipped in the Hangul of the second record, whose romanized name
    # (and the first record's Hangul) say 이민준.
    first = match_record(id="a", name="이민준", birth_year=1990)
    second = match_record(id="b", name="이만준", other_spellings=["Lee Min-jun"], birth_year=1990)
    assert set(block_keys(first)) & set(block_keys(second))
    assert _name_labels([first, second], [(0, 1)]) == ["the same name"]
    # Without the romanized name the two Hangul spellings are different names.
    bare = match_record(id="c", name="이만준", birth_year=1990)
    assert _name_labels([first, bare], [(0, 1)]) != ["the same name"]


def test_a_vowel_slip_within_one_key_is_the_same_name_too() -> None:
    # ㅓ/ㅗ share a phonetic key; the exact-Hangul filter told them apart, and a Hangul its
    # own record's romanization contradicts is no longer taken as exact.
    first = match_record(id="a", name="김선희", other_spellings=["Kim Seon-hui"])
    second = match_record(id="b", name="김손희", other_spellings=["Kim Seon-hui"])
    bare = match_record(id="c", name="김손희")
    assert _name_labels([first, second, bare], [(0, 1), (0, 2)]) == [
        "the same name",
        "different",
    ]


def test_strangers_are_not_joined_by_it() -> None:
    records = [
        # Two different people, each written consistently in Hangul and romanized.
        match_record(id="a", name="김선희", other_spellings=["Kim Seon-hui"]),
        match_record(id="b", name="김순희", other_spellings=["Kim Sun-hui"]),
        # A record whose two spellings disagree (이만준 / Lee Min-jun) is not the same name
        # as someone whose name is neither.
        match_record(id="c", name="이만준", other_spellings=["Lee Min-jun"]),
        match_record(id="d", name="이민수"),
        match_record(id="e", name="박민준", other_spellings=["Park Min-jun"]),
    ]
    labels = _name_labels(records, [(0, 1), (2, 3), (2, 4)])
    assert "the same name" not in labels
    assert "nearly the same" not in labels


def test_the_stored_path_passes_the_romanized_name() -> None:
    both = record_from_payload(
        record_id="1", data={"name_hangul": "이만준", "name_romanized": "Lee Min-jun"}
    )
    assert both.name.other == "Lee Min-jun"
    alone = record_from_payload(record_id="2", data={"name_romanized": "Lee Min-jun"})
    assert alone.name.other == "" and alone.name.text == "Lee Min-jun"


def test_identical_text_with_other_spellings_is_encoded_apart() -> None:
    # Distinct names are encoded once each: a name and the same name with a disagreeing
    # romanization are different forms.
    records = [
        match_record(id="a", name="이만준"),
        match_record(id="b", name="이만준", other_spellings=["Lee Min-jun"]),
    ]
    table = encode_records(records=records, hasher_for=clear_hasher)
    assert table.popcounts("name.hangul")[0] > 0
    assert table.popcounts("name.hangul")[1] == 0
    assert table.popcounts("name.phonetic.alt")[1] > 0
    assert ENCODING_VERSION >= 6
