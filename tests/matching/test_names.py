"""Korean name normalisation: decomposition, romanization both ways, surnames, pairs that must
and must not match, bad input. Pure Python: no database."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from haven.matching.hangul import (
    VOWEL_CLASS,
    is_syllable,
    join_syllable,
    north_forms,
    south_form,
    split_syllable,
    syllable_code,
    to_jamo,
)
from haven.matching.names import (
    MAX_CHARS,
    explain_name_match,
    name_similarity,
    normalise_name,
    same_name,
)
from haven.matching.romanization import (
    INVENTORY,
    ascii_fold,
    romanize_name,
    romanize_word,
    split_syllables,
)
from haven.matching.surnames import (
    BY_HANJA,
    SURNAMES,
    is_surname,
    surname_variants,
    surnames_for,
)

# --- Hangul ------------------------------------------------------------------------------------


def test_jamo_decomposition():
    assert to_jamo("김선희") == "ㄱㅣㅁㅅㅓㄴㅎㅢ"
    assert to_jamo("닭 A") == "ㄷㅏㄺ A"
    assert split_syllable("힣") == (18, 20, 27)


def test_every_syllable_round_trips():
    for code in range(0xAC00, 0xD7A4):
        assert join_syllable(*split_syllable(chr(code))) == chr(code)


@pytest.mark.parametrize(
    ("north", "south"),
    [("리설주", "이설주"), ("류경애", "유경애"), ("림", "임"), ("로", "노"), ("량", "양"),
     ("녀", "여"), ("라", "나"), ("려", "여"), ("룡", "용"), ("련", "연")],
)  # fmt: skip
def test_initial_sound_rule_folds_both_ways(north, south):
    assert south_form(north) == south
    assert north in north_forms(south)
    assert [syllable_code(c) for c in north] == [syllable_code(c) for c in south]


@pytest.mark.parametrize(("a", "b"), [("오", "노"), ("이", "기"), ("유", "우"), ("나", "다")])
def test_initial_sound_rule_does_not_merge_other_initials(a, b):
    assert syllable_code(a) != syllable_code(b)


def test_south_form_leaves_other_words_alone():
    assert south_form("김") == "김"
    assert south_form("") == ""
    assert south_form("Kim") == "Kim"
    assert north_forms("김") == ("김",)


# --- romanizers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("surname", "given", "system", "options", "expected"),
    [
        ("장", "진성", "mr", {}, "Chang Chin-sŏng"),
        ("장", "진성", "mr", {"breves": False}, "Chang Chin-song"),
        ("장", "진성", "mr", {"breves": False, "sep": ""}, "Chang Chinsong"),
        ("장", "진성", "rr", {}, "Jang Jinseong"),
        ("이", "설주", "mr", {}, "I Sŏl-chu"),
        ("리", "설주", "nk", {}, "Ri Sŏl Ju"),
        ("리", "설주", "nk", {"breves": False}, "Ri Sol Ju"),
        ("김", "선희", "rr", {}, "Gim Seonhui"),
        ("김", "선희", "rr", {"sep": "-", "surname_last": True}, "Seon-hui Gim"),
        ("김", "대중", "mr", {}, "Kim Tae-jung"),
        ("최", "철", "mr", {}, "Ch'oe Ch'ŏl"),
        ("최", "철", "mr", {"apostrophes": False, "breves": False}, "Choe Chol"),
        ("박", "정민", "nk", {}, "Pak Jŏng Min"),
        ("태", "영호", "nk", {"breves": False}, "Thae Yong Ho"),
        ("김", "시현", "mr", {}, "Kim Shi-hyŏn"),
    ],
)
def test_romanizers(surname, given, system, options, expected):
    assert romanize_name(surname, given, system, **options) == expected


def test_romanize_word_skips_non_hangul():
    assert romanize_word("김 X") == "gim"
    assert romanize_word("") == ""


def test_ascii_fold():
    assert ascii_fold("Ch'oe Sŏl-chu") == "choe seol chu"
    assert ascii_fold("Han’guk") == "han guk"
    assert ascii_fold("Kŭm") == "keum"


def test_joined_romanization_keeps_every_likely_split():
    keys = {tuple(s.key for s in r) for r in split_syllables("kyongae")}
    assert keys == {("kyong", "e"), ("kyon", "ke")}
    assert [[s.key for s in r] for r in split_syllables("sunhee")] == [["son", "hi"]]
    assert split_syllables("smith") == ()


def test_inventory_is_consistent():
    for _cost, codes in INVENTORY.values():
        for code in codes:
            # A spelling's vowels share one coarse class, so the syllable key is well defined.
            assert len({VOWEL_CLASS[v] for v in code.vowels}) == 1


# --- surnames ----------------------------------------------------------------------------------


def test_surname_table_covers_the_100_most_common():
    assert len({s[0] for s in SURNAMES}) >= 100
    assert {"김", "이", "박", "최", "정", "남궁", "황보", "제갈", "선우"} <= {
        s[0] for s in SURNAMES
    }


@pytest.mark.parametrize(
    ("hangul", "variants"),
    [
        ("이", {"lee", "yi", "rhee", "ri", "li", "rhie"}),
        ("리", {"lee", "yi", "rhee", "ri", "li", "rhie"}),
        ("박", {"park", "pak", "bak"}),
        ("류", {"ryu", "yu", "yoo", "rhyu"}),
        ("임", {"rim", "lim", "im"}),
        ("노", {"ro", "roh", "no", "noh"}),
        ("량", {"ryang", "yang"}),
        ("최", {"choi", "choe"}),
        ("정", {"jung", "chung", "jeong"}),
    ],
)
def test_surname_variants_include_north_korean_forms(hangul, variants):
    assert variants <= set(surname_variants(hangul))
    assert is_surname(hangul)


def test_surname_lookup():
    assert surnames_for("Rhee") == ("이",)
    assert set(surnames_for("Song")) == {"송", "성"}
    assert surnames_for("Smith") == ()
    assert BY_HANJA["金"] == "김"
    assert BY_HANJA["南宮"] == "남궁"
    assert surname_variants("X") == ()


def test_every_surname_reads_back_from_every_system():
    """The table is authoritative for listed spellings, so it must contain each generated one."""
    for south, north, _hanja, _variants in SURNAMES:
        for hangul in filter(None, (south, north)):
            for system in ("rr", "mr", "nk"):
                for marks in (True, False):
                    word = romanize_word(hangul, system, breves=marks, apostrophes=marks)
                    assert south in surnames_for(word), (hangul, system, word)


# --- pairs -------------------------------------------------------------------------------------

POSITIVE = [
    # 김선희 in Hangul, RR, popular spellings, spaced/hyphenated/joined, swapped, marked surname.
    ("김선희", "Kim Sun-hui"),
    ("김선희", "Kim Sunhee"),
    ("김선희", "Gim Seon-hui"),
    ("김선희", "Kim Sun Hui"),
    ("김선희", "Kim Sunhui"),
    ("김선희", "Sun-hui Kim"),
    ("김선희", "Sunhee KIM"),
    ("김선희", "KIM, Sun-hui"),
    ("김선희", "Kimsunhui"),
    ("김선희", "김 선희"),
    ("Kim Sun-hui", "Kim Sunhee"),
    ("Kim Sun-hui", "Sun Hui Kim"),
    # 이설주: North Korean 리, McCune–Reischauer with breves.
    ("이설주", "리설주"),
    ("이설주", "Ri Sol-ju"),
    ("이설주", "Ri Sol Ju"),
    ("이설주", "Lee Seol-ju"),
    ("이설주", "Yi Sŏl-chu"),
    ("리설주", "Rhee Seolju"),
    ("Ri Sol-ju", "Lee Seol-ju"),
    # 장진성: MR with and without breves, joined, RR, popular.
    ("장진성", "Chang Chin-sŏng"),
    ("장진성", "Chang Chin-song"),
    ("장진성", "Chang Chinsong"),
    ("장진성", "Jang Jin-sung"),
    ("장진성", "Jang Jin Seong"),
    ("Chang Chin-sŏng", "Jang Jin-sung"),
    # 박정민
    ("박정민", "Pak Jong-min"),
    ("박정민", "Park Jeong-min"),
    ("박정민", "Bak Jeongmin"),
    ("박정민", "Pak Chŏng-min"),
    # 류경애 / 유경애
    ("류경애", "유경애"),
    ("류경애", "Ryu Kyong-ae"),
    ("류경애", "Yoo Kyung-ae"),
    ("유경애", "Ryu Kyŏng-ae"),
    ("Kyongae Ryu", "류경애"),
    # 림/임, 로/노, 량/양, 라/나
    ("림영철", "임영철"),
    ("임용철", "Rim Yong Chol"),
    ("임용철", "Lim Yong-cheol"),
    ("임용철", "Im Yong-ch'ŏl"),
    ("로명수", "노명수"),
    ("노무현", "Roh Moo-hyun"),
    ("노무현", "No Mu-hyŏn"),
    ("량은희", "양은희"),
    ("Ryang Un Hui", "양은희"),
    ("라경수", "나경수"),
    # Given-name syllables under the initial-sound rule, other popular spellings.
    ("김룡", "김용"),
    ("최은영", "Choi Eun-young"),
    ("최은영", "Ch'oe Ŭn-yŏng"),
    ("최은영", "Choe Un Yong"),
    ("허준", "Hur Jun"),
    ("안중근", "Ahn Jung-geun"),
    ("김정은", "Kim Jong Un"),
    ("김정은", "Kim Jŏng Ŭn"),
    ("태영호", "Thae Yong Ho"),
    ("황장엽", "Hwang Jang-yop"),
    ("이민호", "Min Ho Lee"),
    ("이민호", "Minho Lee"),
    ("남궁민", "Namgung Min"),
    ("선우진", "Seon Woo-jin"),
    ("선우진", "Sunwoo Jin"),
    ("김선희", "Ким Сун Хи"),
    ("김선희", "Сун Хи КИМ"),
    ("김선희", "Kim SUN-HUI"),  # capitals that do not mark the surname
    ("최민수", "Цой Мин Су"),
    ("金善姬", "金善姬"),
]

NEGATIVE = [
    ("김선희", "김선호"),  # one vowel class apart
    ("김선희", "김순희"),  # ㅓ vs ㅜ: kept apart in Hangul
    ("박정민", "박종민"),  # ㅓ vs ㅗ
    ("이영호", "이영희"),
    ("김민준", "김민서"),  # siblings: surname and one syllable shared
    ("박지훈", "박지후"),  # siblings: final consonant
    ("정수민", "전수민"),  # ㅇ vs ㄴ final in the surname
    ("Kim Sun-hui", "Kang Sun-hui"),
    ("김선희", "강선희"),
    ("오무현", "노무현"),  # 오 is not 노
    ("Oh Mu-hyun", "Roh Moo-hyun"),
    ("최영희", "조영희"),
    ("Choi Young-hee", "Cho Young-hee"),
    ("신동현", "진동현"),
    ("김선희", "김선"),  # a syllable missing
    ("Park Jeong-min", "박종민"),  # RR eo is exactly ㅓ
    ("Kim Chŏng-ŭn", "김종운"),  # MR with breves is exact
    ("Yu Kyong-ae", "여경애"),  # a listed surname spelling reads only as that surname
    ("이설주", "이설화"),
    ("김선희", "Kim Son-ho"),
]


@pytest.mark.parametrize(("a", "b"), POSITIVE)
def test_positive_pairs_match(a, b):
    match = explain_name_match(a, b)
    assert match.equivalent, match
    assert match.score == 1.0
    assert same_name(b, a)
    # Blocking keeps them together: they share at least one token.
    assert set(normalise_name(a).tokens) & set(normalise_name(b).tokens)


@pytest.mark.parametrize(("a", "b"), NEGATIVE)
def test_negative_pairs_do_not_match(a, b):
    match = explain_name_match(a, b)
    assert not match.equivalent, match
    assert match.score < 0.95  # one differing syllable costs at least 0.2 of its share
    assert not same_name(b, a)


@pytest.mark.parametrize(
    ("romanized", "hangul"),
    [
        ("Kim Sun-hui", "김선희"),  # popular "Sun" for 선
        ("Kim Sun-hui", "김순희"),  # RR "Sun" for 순
        ("Pak Jong-min", "박정민"),  # MR without breve
        ("Pak Jong-min", "박종민"),  # RR
    ],
)
def test_ambiguous_spellings_agree_with_every_name_they_may_write(romanized, hangul):
    assert same_name(romanized, hangul)


def test_partial_agreement_is_graded_and_explained():
    one_vowel = explain_name_match("김선희", "김순희")
    other_surname = explain_name_match("김선희", "강선희")
    unrelated = explain_name_match("김선희", "박정민")
    assert unrelated.score < other_surname.score < one_vowel.score < 1
    assert one_vowel.surname == 1 and one_vowel.given is not None and one_vowel.given < 1
    assert other_surname.surname is not None and other_surname.surname < 1
    assert other_surname.given == 1
    assert any("surname differs" in r for r in other_surname.reasons)
    swapped = explain_name_match("김선희", "Sun-hui Kim")
    assert swapped.swapped
    assert any("opposite order" in r for r in swapped.reasons)
    assert 0 <= name_similarity("Kim Min", "Lee Seol-ju") < 0.5


def test_missing_surname_counts_against_the_score():
    match = explain_name_match("Sunhui", "김선희")
    assert match.surname is None
    assert 0.6 < match.score < 0.7


def test_chinese_characters_read_the_surname_only():
    forms = normalise_name("金善姬")
    assert forms.script == "han"
    assert forms.surname_key == "kim"
    match = explain_name_match("金善姬", "김선희")
    assert match.surname == 1 and not match.equivalent


# --- forms -------------------------------------------------------------------------------------


def test_forms_of_a_hangul_name():
    forms = normalise_name(" 리 설주 ")
    assert forms.script == "hangul"
    assert forms.hangul == "리설주"
    assert forms.jamo == "ㄹㅣㅅㅓㄹㅈㅜ"
    assert forms.latin == "ri seolju"
    assert forms.surname_key == "i"
    assert forms.given_key == "sol.jo"
    assert forms.keys[0] == "i sol.jo"
    assert {"s:i", "g:sol.jo", "i:i/s.j", "n:i.sol.jo"} <= set(forms.tokens)
    assert forms.korean


def test_forms_of_a_romanized_name_list_its_readings():
    forms = normalise_name("Lee Min Ho")
    assert forms.script == "latin"
    assert forms.latin == "lee min ho"
    assert forms.keys == ("i min.ho", "ho i.min")  # surname first preferred, last kept
    joined = normalise_name("Kim Kyongae")
    assert set(joined.keys) == {"kim kyong.e", "kim kyon.ke"}


def test_compound_surnames_keep_both_splits_when_short():
    assert normalise_name("남궁민").keys == ("nam.kong min", "nam kong.min")
    assert normalise_name("남궁민수").keys == ("nam.kong min.so",)


def test_mixed_script_reads_the_hangul():
    forms = normalise_name("김선희 (Kim Sun-hui)")
    assert forms.script == "mixed"
    assert forms.hangul == "김선희"


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\x00", "\x00\x01\x1f", "12345", "--- ,,, ''", "😀😀", "ㄱㄴㄷ", "\u200b",
     "Ελένη Παπαδοπούλου", "محمد", "Jean-Pierre Dupont", "María José García-López",
     "Иван Петров", "毛泽东", "김", "Kim", "K", ","],
)  # fmt: skip
def test_bad_or_foreign_input_does_not_crash(text):
    forms = normalise_name(text)
    assert isinstance(forms.keys, tuple)
    assert isinstance(forms.tokens, tuple)
    match = explain_name_match(text, "김선희")
    assert 0.0 <= match.score <= 1.0
    assert 0.0 <= name_similarity(text, text) <= 1.0


def test_empty_names_never_match():
    assert normalise_name("").script == "empty"
    assert not same_name("", "")
    assert name_similarity("", "김선희") == 0.0
    assert explain_name_match("\x00", "").method == "none"


def test_control_characters_are_ignored():
    assert same_name("Kim\x00 Sun-\u200bhui\x07", "김선희")
    assert normalise_name("김\x00선\x1b희").hangul == "김선희"
    assert normalise_name("Kim\tSun\nhui").latin == "kim sun hui"


def test_latin_european_names_compare_as_strings():
    match = explain_name_match("John Smith", "Jon Smith")
    assert match.method == "string"
    assert 0.8 < match.score < 1
    assert explain_name_match("Jean Dupont", "Dupont Jean").score == 1.0
    assert normalise_name("John Smith").tokens == ("l:john smith",)


@pytest.mark.parametrize(
    "text",
    ["a" * 10_000, "가" * 10_000, "Kim " * 2_500, "sunhui-" * 1_500, "\x00" * 10_000,
     "金" * 10_000, ("Kim Sun-hui 김선희 Ким " * 500)],
)  # fmt: skip
def test_a_10000_character_name_is_cut_so_the_work_stays_bounded(text):
    # Not timed (speed belongs in benchmarks): the input is cut, so it costs what a short one does.
    forms = normalise_name(text)
    assert len(forms.text) <= MAX_CHARS
    assert forms == normalise_name(text[: 4 * MAX_CHARS])
    assert (
        explain_name_match(forms, forms).score
        == explain_name_match(text[: 4 * MAX_CHARS], text[: 4 * MAX_CHARS]).score
    )


# --- properties --------------------------------------------------------------------------------

_SYLLABLES = st.integers(0xAC00, 0xD7A3).map(chr)
_SURNAMES = st.sampled_from([h for s in SURNAMES for h in (s[0], s[1]) if h])
# Syllables common in given names: joined romanizations of these must read back too.
_COMMON = st.sampled_from(
    "민서준지현우수영정희진성은혜경아연주하윤재동철호숙미선순옥자혁석훈광남일명국길용태상원규찬"
    "한설애란예나유채다빈소율시도건형래범봉기창덕문환식"
)


def _names(syllables):
    return st.tuples(_SURNAMES, st.lists(syllables, min_size=1, max_size=3).map("".join)).filter(
        lambda n: len(n[0] + n[1]) <= 4
    )


@settings(max_examples=300, deadline=None)
@given(name=_names(_SYLLABLES), system=st.sampled_from(["rr", "mr", "nk"]),
       marks=st.booleans(), sep=st.sampled_from(["-", " "]), last=st.booleans())  # fmt: skip
def test_generated_romanizations_read_back_to_the_hangul(name, system, marks, sep, last):
    surname, given_name = name
    hangul = surname + given_name
    text = romanize_name(
        surname, given_name, system, breves=marks, apostrophes=marks, sep=sep, surname_last=last
    )
    assert same_name(hangul, text), (hangul, text, normalise_name(text).keys)
    assert normalise_name(hangul).keys[0] in normalise_name(text).keys or last


@settings(max_examples=300, deadline=None)
@given(name=_names(_COMMON), system=st.sampled_from(["rr", "mr", "nk"]), marks=st.booleans())
def test_joined_romanizations_of_common_syllables_read_back(name, system, marks):
    surname, given_name = name
    # A syllable that starts with a vowel, joined to the one before it, is ambiguous in every
    # system ("Hook" for 호옥): their own rules then ask for a hyphen, tested above.
    assume(all((ord(s) - 0xAC00) // 588 != 11 for s in given_name[1:]))
    text = romanize_name(surname, given_name, system, breves=marks, apostrophes=marks, sep="")
    assert same_name(surname + given_name, text), (surname + given_name, text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_normalises(text):
    forms = normalise_name(text)
    assert all(not is_syllable(c) or c in forms.text for c in forms.hangul)
    assert 0.0 <= name_similarity(text, "Kim Sun-hui") <= 1.0


# --- typos that break a reading ----------------------------------------------------------------


def test_a_typo_that_breaks_one_chunk_leaves_the_rest_of_the_name_readable():
    # "Gng" reads as no Korean syllable: the name keeps its place and the other syllables.
    assert any(r.given_key.endswith("yon.ji") for r in normalise_name("Gng Yun Ji").readings)
    assert "kim ?nm.ji" in normalise_name("Kim Nmji").keys  # only the broken part is unread
    assert "o ho.?jn" in normalise_name("Oh Hojn").keys


@pytest.mark.parametrize(
    ("typo", "name"),
    [("Gng Yun Ji", "Kang Yun-ji"), ("Kim Nmji", "김남지"), ("Oh Hojn", "O Ho-jin")],
)
def test_a_name_with_one_broken_chunk_stays_alike_to_the_name_it_was_typed_for(typo, name):
    assert name_similarity(typo, name) >= 0.65
    assert not same_name(typo, name)  # a chunk that did not read is never "the same"


@pytest.mark.parametrize(
    ("typo", "other"),
    [("Gng Yun Ji", "Pak Min-su"), ("Kim Nmji", "Pak Su-yong"), ("Oh Hojn", "Kim Ho-jin")],
)
def test_a_name_with_one_broken_chunk_stays_apart_from_other_names(typo, other):
    assert name_similarity(typo, other) < 0.65


@pytest.mark.parametrize("text", ["Maria Garcia", "Anna Schmidt", "Peter Miller", "John Smith"])
def test_names_of_other_languages_are_not_read_around_a_broken_chunk(text):
    assert normalise_name(text).readings == ()


@pytest.mark.parametrize(
    ("typo", "name"),
    [("Ki mChi-jae", "Kim Chi-jae"), ("Hah nYeondong", "한연동"), ("Gwagn-ok EUN", "은광옥"),
     ("Ryu lI-myŏng", "유일명"), ("Ha oH Jeong", "하호정"), ("Kim Jnu", "김준")],
)  # fmt: skip
def test_two_swapped_neighbouring_characters_are_swapped_back(typo, name):
    assert same_name(typo, name), normalise_name(typo).keys


@pytest.mark.parametrize(
    ("typo", "other"),
    [("Ki mChi-jae", "Kim Chi-hae"), ("Gwagn-ok EUN", "은광욱"), ("Ha oH Jeong", "하오정")],
)
def test_a_swap_undone_does_not_make_a_different_name_the_same(typo, other):
    assert not same_name(typo, other)
