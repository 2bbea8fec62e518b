"""Origins read as places: every way records spell a North Korean province or town."""

from __future__ import annotations

import pytest

from haven.matching.places import (
    BY_CODE,
    PROVINCES,
    REGIONS,
    _tables,
    place_of,
    province_name,
    province_of,
    region_of,
)

NORTH_HAMGYONG = [
    "함경북도",
    "함북",
    "함경북도 청진시",
    "Hamgyong-bukto",
    "Hamgyŏng-pukto",
    "Hamgyongbuk-do",
    "Hamgyeongbuk-do",
    "hamkyung bukdo",
    "North Hamgyong Province",
    "N. Hamgyong",
    "Hamgyong North",
    "Hambuk",
    "咸镜北道",
    "咸鏡北道",
    "Chongjin",
    "Ch'ŏngjin",
    "Cheongjin-si",
    "청진",
    "淸津",
    "회령시",
    "Hoeryong",
    "Musan county, North Korea",
    "성진",  # Kimchaek's name before 1951
    "Kimchaek City",
    "북한 함경북도 회령시 출신",
    "함경북도청진시",
]


@pytest.mark.parametrize("text", NORTH_HAMGYONG)
def test_north_hamgyong_is_read_from_every_spelling(text: str) -> None:
    assert province_of(text) == "KP-09"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("양강도", "KP-10"),
        ("량강도", "KP-10"),  # as written in the North
        ("Ryanggang-do", "KP-10"),
        ("Yanggang", "KP-10"),
        ("혜산시", "KP-10"),
        ("Hyesan", "KP-10"),
        ("평양", "KP-01"),
        ("평양직할시", "KP-01"),
        ("P'yŏngyang", "KP-01"),
        ("Phyongyang", "KP-01"),  # the North Korean system writes ㅍ as ph
        ("South Pyongan", "KP-02"),
        ("Phyongan-namdo", "KP-02"),
        ("평남", "KP-02"),
        ("Pyeongannam-do", "KP-02"),
        ("평성", "KP-02"),
        ("Sinuiju", "KP-03"),
        ("Shinuiju", "KP-03"),
        ("신의주시", "KP-03"),
        ("新义州", "KP-03"),
        ("룡천", "KP-03"),  # 용천 in the South
        ("Jagang-do", "KP-04"),
        ("자강도 강계", "KP-04"),
        ("Kanggye", "KP-04"),
        ("해주", "KP-05"),
        ("Hwanghae-namdo", "KP-05"),
        ("황북", "KP-06"),
        ("Sariwon", "KP-06"),
        ("강원도 원산시", "KP-07"),
        ("Wonsan", "KP-07"),
        ("Hamhung", "KP-08"),
        ("Hamheung", "KP-08"),
        ("함남", "KP-08"),
        ("South Hamgyong Province", "KP-08"),
        ("라선", "KP-13"),
        ("나선", "KP-13"),
        ("Rason", "KP-13"),
        ("Rajin-Sonbong", "KP-13"),
        ("Nampo", "KP-14"),
        ("진남포", "KP-14"),
        ("Kaesong", "KP-15"),
        ("개성시", "KP-15"),
    ],
)
def test_provinces_and_towns_in_hangul_romanizations_and_chinese(text: str, code: str) -> None:
    assert province_of(text) == code


def test_a_town_keeps_its_province_and_its_own_name() -> None:
    place = place_of("Hoeryeong")
    assert place is not None
    assert (place.province, place.region, place.town) == ("KP-09", "hamgyong", "회령")
    assert place_of("회령") == place  # the same town whatever the script


def test_a_city_named_with_another_province_is_the_city() -> None:
    # The town is more specific; a special city named beside its old province is the city.
    assert province_of("Chongjin, South Hamgyong") == "KP-09"
    assert province_of("평안남도 남포") == "KP-14"


@pytest.mark.parametrize("text", ["Hamgyong", "함경도", "Hamgyong-do"])
def test_the_old_undivided_province_names_a_region_not_a_province(text: str) -> None:
    assert province_of(text) is None
    assert region_of(text) == "hamgyong"


@pytest.mark.parametrize(
    "text", ["", "unknown", "Seoul", "Shenyang", "North Korea", "DPRK", "x" * 5000, "123"]
)
def test_what_names_no_known_place_has_no_province(text: str) -> None:
    assert province_of(text) is None


def test_every_province_has_a_code_names_in_both_languages_and_a_region() -> None:
    codes = [p.code for p in PROVINCES]
    assert len(codes) == len(set(codes)) == 13
    for p in PROVINCES:
        assert p.code.startswith("KP-") and p.region in REGIONS
        assert province_name(p.code, "ko") == p.name_ko
        assert province_name(p.code, "en") == p.name_en
        assert province_of(p.name_ko) == p.code
        assert province_of(p.name_en) == p.code
    assert province_name("KP-99") == "KP-99"
    assert BY_CODE["KP-10"].name_ko_north == "량강도"


def test_no_two_places_share_a_spelling_unless_the_towns_really_do() -> None:
    # Within the lookup tables, a spelling names one province (a province and its special city
    # are one place); the only shared spellings are towns romanized alike (은산/운산 "Unsan").
    hangul, roman, _hanzi = _tables()
    for table in (hangul, roman):
        for key, hits in table.items():
            provinces = {code for kind, code, _town in hits if kind != "region"}
            if len(provinces) > 1:
                towns = {town for kind, _code, town in hits if kind == "town"}
                assert len(towns) == len(hits), (key, hits)
