"""Occupations kept as written, read into categories for display and statistics."""

from __future__ import annotations

import pytest

from haven.matching.occupations import CATEGORIES, CODES, category_name, occupation_category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("식당 복무원", "restaurant_worker"),
        ("waitress in Ningbo", "restaurant_worker"),
        ("Restaurant worker", "restaurant_worker"),
        ("협동농장원", "farmer"),
        ("collective farm worker", "farmer"),
        ("farmer", "farmer"),
        ("IT 노동자", "technician"),  # the specific before the generic
        ("software developer in Shenyang", "technician"),
        ("army officer", "soldier"),
        ("police officer", "official"),
        ("보위부 간부", "official"),
        ("건설 노동자", "labourer"),
        ("factory worker", "labourer"),
        ("탄광 노동자", "miner"),
        ("coal miner", "miner"),
        ("fisherman", "fisher"),
        ("무역일꾼", "trader"),
        ("smuggler", "trader"),
        ("대학생", "student"),
        ("소학교 교원", "teacher"),
        ("nurse", "medical"),
        ("bus driver", "driver"),
        ("가정주부", "homemaker"),
        ("무직", "unemployed"),
        ("itinerant", "other"),
        ("", "unknown"),
        ("미상", "unknown"),
        ("  Unknown ", "unknown"),
        (None, "unknown"),
    ],
)
def test_occupations_as_written_are_read_into_categories(text: str | None, category: str) -> None:
    assert occupation_category(text) == category


@pytest.mark.parametrize(
    "code",
    [
        "trader",
        "restaurant_worker",
        "labourer",
        "official",
        "soldier",
        "student",
        "other",
        "unknown",
    ],
)
def test_the_old_fixed_codes_keep_their_meaning(code: str) -> None:
    assert occupation_category(code) == code


def test_every_category_has_names_in_english_and_korean() -> None:
    assert len(CODES) == len(CATEGORIES)
    for code, en, ko in CATEGORIES:
        assert category_name(code, "en") == en
        assert category_name(code, "ko") == ko
    assert category_name("no-such-code") == "no-such-code"


def test_hostile_input_is_read_without_error() -> None:
    assert occupation_category("\x00\x1b[31m" + "농민" * 10_000) == "farmer"
    assert occupation_category("x" * 100_000) == "other"
