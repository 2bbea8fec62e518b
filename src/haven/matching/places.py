"""Where in North Korea someone comes from: a province (or directly governed city) from however
the place was written.

Records spell a province many ways: Hangul as written in the South or the North (양강도, 량강도),
abbreviations (함북), Revised Romanization, McCune–Reischauer with or without breves and
apostrophes, the North Korean system (Phyongan-namdo), English ("North Hamgyong Province"),
Chinese characters (咸镜北道), old names (성진 for 김책, 진남포 for 남포), and often a city or
county instead of its province ("Chongjin", "혜산시"). :func:`place_of` reads all of these into
a :class:`Place`: the province's stable code (ISO 3166-2:KP), the historic province it lies in
(several of today's provinces were one until 1896 or 1954) and the town when one was named.

Pure functions, no database, no keys: the matcher compares origins as places, statistics count
people by origin province (:data:`PROVINCES`, :func:`province_name` for display).

Public API::

    province_of("함북 청진시")        -> "KP-09"
    place_of("Hoeryong")             -> Place(province="KP-09", region="hamgyong", town="회령")
    province_name("KP-10", "ko")     -> "양강도"
    PROVINCES                         -> (Province(code, name_ko, name_en, region), ...)

A text that names nothing known, or names two provinces that cannot both be right ("Hamgyong",
north or south), has no province: ``None``, never a guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from haven.matching.hangul import is_syllable, south_form
from haven.matching.romanization import System, romanize_word

MAX_CHARS = 200  # longer input is cut: no place name is longer, and work stays bounded
MAX_TOKENS = 12  # words of a place considered (each span of them is looked up)


@dataclass(frozen=True, slots=True)
class Province:
    """A North Korean province or directly governed (special) city."""

    code: str  # ISO 3166-2:KP
    name_ko: str  # as written in the South (the NGO's own usage)
    name_ko_north: str  # as written in the North
    name_en: str
    region: str  # the historic province it lies in (see REGIONS)


# Display order: north-east to south-west, as North Korean statistics list them.
PROVINCES: tuple[Province, ...] = (
    Province("KP-01", "평양직할시", "평양직할시", "Pyongyang", "pyongan"),
    Province("KP-02", "평안남도", "평안남도", "South Pyongan", "pyongan"),
    Province("KP-03", "평안북도", "평안북도", "North Pyongan", "pyongan"),
    Province("KP-04", "자강도", "자강도", "Chagang", "pyongan"),
    Province("KP-05", "황해남도", "황해남도", "South Hwanghae", "hwanghae"),
    Province("KP-06", "황해북도", "황해북도", "North Hwanghae", "hwanghae"),
    Province("KP-07", "강원도", "강원도", "Kangwon", "kangwon"),
    Province("KP-08", "함경남도", "함경남도", "South Hamgyong", "hamgyong"),
    Province("KP-09", "함경북도", "함경북도", "North Hamgyong", "hamgyong"),
    Province("KP-10", "양강도", "량강도", "Ryanggang", "hamgyong"),
    Province("KP-13", "나선특별시", "라선특별시", "Rason", "hamgyong"),
    Province("KP-14", "남포특별시", "남포특별시", "Nampo", "pyongan"),
    Province("KP-15", "개성특급시", "개성특급시", "Kaesong", "hwanghae"),
)
BY_CODE = {p.code: p for p in PROVINCES}

# The provinces of Korea before 1896 (and, for Hwanghae, before 1954) that today's provinces
# were carved from. Chagang came out of North Pyongan in 1949, Ryanggang out of the Hamgyong
# provinces in 1954; Kaesong belonged to North Hwanghae from 2003 to 2019.
REGIONS: dict[str, tuple[str, str]] = {
    "pyongan": ("평안도", "Pyongan"),
    "hwanghae": ("황해도", "Hwanghae"),
    "kangwon": ("강원도", "Kangwon"),
    "hamgyong": ("함경도", "Hamgyong"),
}


@dataclass(frozen=True, slots=True)
class Place:
    """What a written origin says: a province code, its historic region, the town if named.

    ``town`` is the town's current Hangul name in South Korean spelling (청진, 김책), or the
    cleaned text of a place that is not in the tables (compared only for equality).
    """

    province: str | None
    region: str | None
    town: str | None


def province_name(code: str, language: str = "en") -> str:
    """A province's display name in English (``"en"``) or Korean (``"ko"``); the code itself
    if it is unknown."""
    province = BY_CODE.get(code)
    if province is None:
        return code
    return province.name_ko if language.startswith("ko") else province.name_en


# --- The tables ----------------------------------------------------------------------------------

# Other Hangul names of each province: abbreviations, the province without its suffix, names of
# the special cities' other statuses. (Suffixes 도/시/특별시/직할시 are stripped from input too.)
_PROVINCE_HANGUL: dict[str, tuple[str, ...]] = {
    "KP-01": ("평양", "평양시", "평양특별시"),
    "KP-02": ("평남", "평안남"),
    "KP-03": ("평북", "평안북"),
    "KP-04": ("자강",),
    "KP-05": ("황남", "황해남"),
    "KP-06": ("황북", "황해북"),
    "KP-07": ("강원",),
    "KP-08": ("함남", "함경남"),
    "KP-09": ("함북", "함경북"),
    "KP-10": ("양강", "량강"),
    "KP-13": ("나선", "라선", "나진선봉", "라진선봉", "나진선봉시", "라진선봉시", "나진·선봉"),
    "KP-14": ("남포", "남포시", "진남포"),
    "KP-15": ("개성", "개성시"),
}

# The romanized stems of each province; directions (north/south, -bukto/-namdo) are read apart.
_PROVINCE_STEMS: dict[str, tuple[str, tuple[str, ...]]] = {
    # code: (direction "buk" / "nam" / "", stems)
    "KP-01": ("", ("pyongyang", "pjongjang", "pyeongyang")),
    "KP-02": ("nam", ("pyongan", "pyeongan")),
    "KP-03": ("buk", ("pyongan", "pyeongan")),
    "KP-04": ("", ("chagang", "jagang")),
    "KP-05": ("nam", ("hwanghae", "hwanghai")),
    "KP-06": ("buk", ("hwanghae", "hwanghai")),
    "KP-07": ("", ("kangwon", "gangwon")),
    "KP-08": ("nam", ("hamgyong", "hamgyeong", "hamkyong")),
    "KP-09": ("buk", ("hamgyong", "hamgyeong", "hamkyong")),
    "KP-10": ("", ("ryanggang", "yanggang")),
    "KP-13": ("", ("rason", "rajin sonbong", "najin sonbong", "rajin-sonbong")),
    "KP-14": ("", ("nampo", "namp'o", "chinnampo")),
    "KP-15": ("", ("kaesong", "gaeseong")),
}
# Korean abbreviations romanized: 함북 Hambuk, 평남 Pyongnam...
_PROVINCE_ROMAN_EXTRA: dict[str, tuple[str, ...]] = {
    "KP-02": ("pyongnam", "pyeongnam"),
    "KP-03": ("pyongbuk", "pyeongbuk"),
    "KP-05": ("hwangnam",),
    "KP-06": ("hwangbuk",),
    "KP-08": ("hamnam",),
    "KP-09": ("hambuk",),
}

# Chinese characters (traditional and simplified), as brokers in China may write them.
_PROVINCE_HANZI: dict[str, tuple[str, ...]] = {
    "KP-01": ("平壤",),
    "KP-02": ("平安南道", "平南"),
    "KP-03": ("平安北道", "平北"),
    "KP-04": ("慈江道", "慈江"),
    "KP-05": ("黄海南道", "黃海南道"),
    "KP-06": ("黄海北道", "黃海北道"),
    "KP-07": ("江原道",),
    "KP-08": ("咸镜南道", "咸鏡南道"),
    "KP-09": ("咸镜北道", "咸鏡北道"),
    "KP-10": ("两江道", "兩江道"),
    "KP-13": ("罗先", "羅先", "罗津先锋", "羅津先鋒"),
    "KP-14": ("南浦",),
    "KP-15": ("开城", "開城"),
}
_REGION_HANZI = {
    "pyongan": ("平安道",),
    "hwanghae": ("黄海道", "黃海道"),
    "hamgyong": ("咸镜道", "咸鏡道"),
}

# Cities, counties and districts of each province (current names, South Korean spelling of the
# first syllable is applied when reading, so North Korean 룡천 finds 용천). Not every county:
# the towns people come from and that records name instead of their province.
_TOWNS: dict[str, str] = {
    "KP-01": "순안 만경대 역포 낙랑 강동 상원 승호 사동 대성 형제산 용성 삼석 은정",
    "KP-02": (
        "평성 안주 개천 덕천 순천 성천 숙천 평원 증산 대동 회창 신양 양덕 맹산 북창 은산 "
        "문덕 대흥 영원"
    ),
    "KP-03": (
        "신의주 정주 구성 의주 용천 철산 선천 곽산 동림 피현 염주 태천 운산 향산 영변 박천 "
        "구장 천마 대관 삭주 창성 벽동 동창 운전 신도"
    ),
    "KP-04": "강계 만포 희천 자성 중강 초산 위원 우시 고풍 시중 전천 성간 장강 송원 동신 화평 낭림 용림",
    "KP-05": (
        "해주 옹진 강령 벽성 신원 재령 신천 안악 은천 은율 과일 송화 삼천 장연 용연 태탄 청단 "
        "연안 배천 봉천"
    ),
    "KP-06": "사리원 송림 황주 봉산 은파 인산 서흥 평산 금천 토산 신계 곡산 수안 연탄 신평 연산",
    "KP-07": "원산 문천 고성 통천 안변 천내 고산 법동 판교 세포 평강 철원 김화 창도 회양 금강 이천",
    "KP-08": (
        "함흥 신포 단천 흥남 정평 금야 고원 요덕 수동 영광 장진 부전 신흥 홍원 북청 이원 "
        "덕성 허천 낙원 함주"
    ),
    "KP-09": "청진 김책 회령 무산 온성 새별 은덕 경성 부령 명천 화성 어랑 길주 화대 연사 나남 남양",
    "KP-10": "혜산 삼지연 대홍단 보천 김정숙 김형직 김형권 백암 운흥 갑산 풍서 삼수",
    "KP-13": "나진 선봉",
    "KP-14": "온천 대안 용강 천리마",
    "KP-15": "개풍 판문 장풍",
}

# Old names of towns (before a renaming or a merger) and what they are called now.
_OLD_TOWNS: dict[str, str] = {
    "성진": "김책",
    "경원": "새별",
    "경흥": "은덕",
    "혜산진": "혜산",
    "신파": "김정숙",
    "후창": "김형직",
    "풍산": "김형권",
    "겸이포": "송림",
    "웅기": "선봉",
    "진남포": "남포",
    "황초령": "부전",
}

# Well-known towns in Chinese characters.
_TOWN_HANZI: dict[str, tuple[str, ...]] = {
    "신의주": ("新义州", "新義州"),
    "청진": ("清津", "淸津"),
    "혜산": ("惠山",),
    "함흥": ("咸兴", "咸興"),
    "원산": ("元山",),
    "해주": ("海州",),
    "사리원": ("沙里院",),
    "강계": ("江界",),
    "평성": ("平城",),
    "회령": ("会宁", "會寧"),
    "김책": ("金策",),
    "무산": ("茂山",),
    "온성": ("稳城", "穩城"),
    "단천": ("端川",),
    "신포": ("新浦",),
    "흥남": ("兴南", "興南"),
    "안주": ("安州",),
    "만포": ("满浦", "滿浦"),
    "나진": ("罗津", "羅津"),
    "선봉": ("先锋", "先鋒"),
    "삼지연": ("三池渊", "三池淵"),
    "송림": ("松林",),
    "문천": ("文川",),
}

# Romanizations of towns in popular use that the three systems do not produce.
_TOWN_ROMAN_EXTRA: dict[str, tuple[str, ...]] = {
    "신의주": ("shinuiju", "sinuiju"),
    "김책": ("kimchaek", "songjin"),
    "나진": ("rajin",),
    "선봉": ("sonbong", "unggi"),
    "함흥": ("hamhung", "hamheung"),
    "흥남": ("hungnam",),
    "삼지연": ("samjiyon",),
}

# --- Normalising ---------------------------------------------------------------------------------

_KOREA = re.compile(
    r"\b(?:north|n\.?)\s*korea\b|\bdprk\b|\bd\.p\.r\.k\.?|\bdemocratic people'?s republic( of korea)?",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"[^\w']+|_")
_APOSTROPHES = str.maketrans("", "", "'’‘`´ʼʻ")
# Words that say what kind of place follows, or where it is, and nothing about which.
_STOP = frozenset(
    [
        "province",
        "provinces",
        "prov",
        "do",
        "to",
        "city",
        "si",
        "shi",
        "county",
        "gun",
        "kun",
        "district",
        "guyok",
        "kuyok",
        "ku",
        "gu",
        "special",
        "specialcity",
        "directly",
        "direct",
        "governed",
        "municipality",
        "metropolitan",
        "region",
        "area",
        "administrative",
        "industrial",
        "zone",
        "the",
        "of",
        "in",
        "from",
        "near",
        "korea",
        "korean",
        "peoples",
        "people",
        "republic",
        "chosun",
        "choson",
        "joseon",
        "bukhan",
        "origin",
        "born",
        "native",
        "hometown",
    ]
)
_NORTH = frozenset(
    ["north", "northern", "n", "buk", "puk", "bukto", "pukto", "bukdo", "pukdo", "bukdoh"]
)
_SOUTH = frozenset(["south", "southern", "s", "nam", "namdo", "namto"])
# Suffixes of Hangul tokens: the kind of place (a remainder of at least two syllables is kept).
_HANGUL_SUFFIXES = (
    "특별행정구",
    "노동자구",
    "특별시",
    "직할시",
    "특급시",
    "출신",
    "태생",
    "구역",
    "지구",
    "시",
    "도",
    "군",
)
_HANGUL_STOP = frozenset({"북한", "조선", "북조선", "공화국", "출신", "고향", "태생"})
# Skeleton folds of a romanized word: every spelling a system or popular use gives one sound
# becomes one string. Vowels first (eo before o), then consonants.
_VOWEL_FOLDS = (
    ("young", "yong"),
    ("yung", "yong"),
    ("eo", "o"),
    ("eu", "u"),
    ("ae", "e"),
    ("ai", "e"),
    ("ee", "i"),
    ("oo", "u"),
    ("ui", "i"),
)
_CONSONANT_FOLDS = (
    ("tch", "j"),
    ("ch", "j"),
    ("ts", "j"),
    ("tz", "j"),
    ("sh", "s"),
    ("ph", "p"),
    ("kh", "k"),
    ("th", "t"),
    ("ck", "k"),
    ("z", "j"),
    ("q", "k"),
    ("f", "p"),
    ("g", "k"),
    ("b", "p"),
    ("d", "t"),
    ("r", "l"),
)
_DOUBLE = re.compile(r"(.)\1+")


@lru_cache(maxsize=1 << 12)
def skeleton(word: str) -> str:
    """The sound skeleton of a romanized place name (lower-case ASCII letters, no spaces):
    Revised Romanization, McCune–Reischauer, the North Korean system and popular spellings of
    one name give one skeleton ("Ch'ŏngjin", "Cheongjin", "Chongjin" → "jonkjin")."""
    text = word.translate(_APOSTROPHES).lower()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if ch.isascii() and ch.isalpha())
    # The initial-sound rule, as in the South: Ryanggang = Yanggang, Rason = Nason.
    if text[:1] in ("r", "l", "n") and text[1:2] in ("y", "i") and len(text) > 2:
        text = text[1:]
    elif text[:1] in ("r", "l"):
        text = "n" + text[1:]
    for a, b in _VOWEL_FOLDS:
        text = text.replace(a, b)
    for a, b in _CONSONANT_FOLDS:
        text = text.replace(a, b)
    return _DOUBLE.sub(r"\1", text)


def _hangul_key(token: str) -> str:
    """A Hangul place token as looked up: kind-of-place suffix stripped, every syllable in
    South Korean spelling (량강 → 양강, 은률 → 은율)."""
    for suffix in _HANGUL_SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 2:
            token = token[: -len(suffix)]
            break
    return "".join(south_form(ch) if is_syllable(ch) else ch for ch in token)


def _is_hanzi(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


# --- Building the lookup --------------------------------------------------------------------------

# One kind of hit: a province, a town (with its province), or a region alone ("Hamgyong").
_Hit = tuple[str, str | None, str | None]  # (kind, province code or region, town)


def _romanizations(hangul: str) -> set[str]:
    out = set()
    systems: tuple[System, ...] = ("rr", "mr", "nk")
    for system in systems:
        for breves, apostrophes in product((True, False), repeat=2):
            out.add(romanize_word(hangul, system, breves=breves, apostrophes=apostrophes))
    return out


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, set[_Hit]], dict[str, set[_Hit]], list[tuple[str, _Hit]]]:
    """(Hangul key → hits, romanized skeleton → hits, [(Chinese text, hit)] longest first)."""
    hangul: dict[str, set[_Hit]] = {}
    roman: dict[str, set[_Hit]] = {}
    hanzi: list[tuple[str, _Hit]] = []

    def add_h(text: str, hit: _Hit) -> None:
        hangul.setdefault(_hangul_key(text), set()).add(hit)

    def add_r(text: str, hit: _Hit) -> None:
        key = skeleton(text)
        if key:
            roman.setdefault(key, set()).add(hit)

    for p in PROVINCES:
        hit: _Hit = ("province", p.code, None)
        for text in (p.name_ko, p.name_ko_north, *_PROVINCE_HANGUL.get(p.code, ())):
            add_h(text, hit)
        direction, stems = _PROVINCE_STEMS[p.code]
        for stem in stems:
            stem = stem.replace("-", "").replace(" ", "")
            if direction:
                add_r(stem + direction, hit)
                add_r(direction + stem, hit)
            else:
                add_r(stem, hit)
        for text in _PROVINCE_ROMAN_EXTRA.get(p.code, ()):
            add_r(text, hit)
        for text in _PROVINCE_HANZI.get(p.code, ()):
            hanzi.append((text, hit))
    for region, (ko, en) in REGIONS.items():
        hit = ("region", region, None)
        add_h(ko, hit)
        add_r(en, hit)
        for text in _REGION_HANZI.get(region, ()):
            hanzi.append((text, hit))
    # Directions of a region alone ("Hamgyong north") are read as provinces above; a stem alone
    # names the region. Pyongyang, Kangwon, Chagang, Ryanggang... are provinces, not regions.
    for code in ("KP-02", "KP-05", "KP-08"):
        region = BY_CODE[code].region
        for stem in _PROVINCE_STEMS[code][1]:
            add_r(stem, ("region", region, None))
    for code, towns in _TOWNS.items():
        for town in towns.split():
            hit = ("town", code, town)
            add_h(town, hit)
            for text in _romanizations(town) | set(_TOWN_ROMAN_EXTRA.get(town, ())):
                add_r(text, hit)
            for text in _TOWN_HANZI.get(town, ()):
                hanzi.append((text, hit))
    for old, new in _OLD_TOWNS.items():
        found = next((c for c, towns in _TOWNS.items() if new in towns.split()), None)
        if found is None:  # a special city's old name (진남포): listed with the province
            continue
        hit = ("town", found, new)
        add_h(old, hit)
        for text in _romanizations(old):
            add_r(text, hit)
    # The special cities are towns of their own province too: "Nampo" names a place.
    for p in PROVINCES:
        if p.code in ("KP-01", "KP-13", "KP-14", "KP-15"):
            town = _hangul_key(p.name_ko)
            for text in (p.name_ko, p.name_ko_north, *_PROVINCE_HANGUL.get(p.code, ())):
                add_h(text, ("town", p.code, town))
            for stem in _PROVINCE_STEMS[p.code][1]:
                add_r(stem.replace("-", "").replace(" ", ""), ("town", p.code, town))
    hanzi.sort(key=lambda entry: -len(entry[0]))
    return hangul, roman, hanzi


# --- Reading a place ------------------------------------------------------------------------------


def _roman_tokens(text: str) -> list[str]:
    text = _KOREA.sub(" ", text.translate(_APOSTROPHES))
    tokens = []
    for raw in _SPLIT.split(text.lower()):
        word = unicodedata.normalize("NFKD", raw)
        word = "".join(ch for ch in word if ch.isascii() and ch.isalpha())
        if not word or word in _STOP:
            continue
        if word in _NORTH:
            word = "buk"
        elif word in _SOUTH:
            word = "nam"
        tokens.append(word)
    return tokens[:MAX_TOKENS]


def _roman_hits(text: str) -> list[_Hit]:
    """Hits of every span of the romanized words, longest spans first; a word already used by
    a longer span is not read again alone ("Kangwon" in "Kangwon-do Wonsan" once)."""
    _h, roman, _z = _tables()
    tokens = _roman_tokens(text)
    used = [False] * len(tokens)
    hits: list[_Hit] = []
    for size in range(min(len(tokens), 4), 0, -1):
        for start in range(0, len(tokens) - size + 1):
            if any(used[start : start + size]):
                continue
            span = tokens[start : start + size]
            joined = "".join(span)
            key = skeleton(joined)
            found = roman.get(key)
            if found is None:
                # A kind-of-place suffix written onto the word: "Chongjinsi", "Kangwondo".
                for suffix in ("to", "si", "kun", "kuyok"):
                    if key.endswith(suffix) and len(key) > len(suffix) + 2:
                        found = roman.get(key[: -len(suffix)])
                        if found:
                            break
            if found:
                hits.extend(found)
                for k in range(start, start + size):
                    used[k] = True
    return hits


def _hangul_hits(text: str) -> list[_Hit]:
    hangul, _r, _z = _tables()
    hits: list[_Hit] = []
    words = [w for w in re.split(r"[^가-힣]+", text) if w and w not in _HANGUL_STOP]
    for word in words[:MAX_TOKENS]:
        found = hangul.get(_hangul_key(word))
        if found:
            hits.extend(found)
            continue
        # Written without spaces ("함경북도청진시"): the known names inside, longest first.
        hits.extend(_scan_hangul(word))
    return hits


def _scan_hangul(word: str) -> list[_Hit]:
    hangul, _r, _z = _tables()
    hits: list[_Hit] = []
    at = 0
    while at < len(word):
        for size in range(min(len(word) - at, 6), 1, -1):
            found = hangul.get(_hangul_key(word[at : at + size]))
            if found:
                hits.extend(found)
                at += size
                break
        else:
            at += 1
    return hits


def _hanzi_hits(text: str) -> list[_Hit]:
    _h, _r, hanzi = _tables()
    hits: list[_Hit] = []
    rest = text
    for chars, hit in hanzi:
        if chars in rest:
            hits.append(hit)
            rest = rest.replace(chars, " ")
    return hits


def _resolve(hits: list[_Hit]) -> Place | None:
    provinces = {p for kind, p, _t in hits if kind == "province" and p}
    towns: dict[str, set[str]] = {}
    for kind, p, t in hits:
        if kind == "town" and p and t:
            towns.setdefault(t, set()).add(p)
    regions = {p for kind, p, _t in hits if kind == "region" and p}
    # A town is the most specific: when its name is unambiguous it decides the province (a
    # special city named beside its old province, "평안남도 남포", is the special city).
    town_provinces = {next(iter(ps)) for ps in towns.values() if len(ps) == 1}
    province: str | None = None
    town: str | None = None
    if len(town_provinces) == 1:
        province = next(iter(town_provinces))
        town = next(t for t, ps in towns.items() if ps == {province})
        if len(towns) > 1:
            town = None  # two towns of one province: the province is sure, the town is not
    elif len(provinces) == 1:
        province = next(iter(provinces))
        inside = [t for t, ps in towns.items() if province in ps]
        town = inside[0] if len(inside) == 1 else None
    elif not provinces and not town_provinces and towns:
        # Only towns whose name several provinces share: the region may still be one.
        candidates = set().union(*towns.values())
        if regions:
            candidates = {p for p in candidates if BY_CODE[p].region in regions}
        if len(candidates) == 1:
            province = next(iter(candidates))
    if province is not None:
        return Place(province, BY_CODE[province].region, town)
    region_set = regions | {BY_CODE[p].region for p in provinces | town_provinces}
    if len(region_set) == 1:
        return Place(None, next(iter(region_set)), None)
    return None


@lru_cache(maxsize=1 << 12)
def place_of(text: str) -> Place | None:
    """The place a written origin names, or None when it names nothing known (or two places
    that cannot both be right). See the module docstring for what is read."""
    if not text:
        return None
    text = unicodedata.normalize("NFKC", str(text)[:MAX_CHARS])
    hits = _hangul_hits(text) + _hanzi_hits(text) + _roman_hits(text)
    return _resolve(hits)


def province_of(text: str) -> str | None:
    """The province code (ISO 3166-2:KP, e.g. ``"KP-09"`` for North Hamgyong) of a written
    origin, or None when it names no province or town known, or is ambiguous."""
    place = place_of(text)
    return place.province if place is not None else None


def region_of(text: str) -> str | None:
    """The historic province (a key of :data:`REGIONS`) of a written origin, or None."""
    place = place_of(text)
    return place.region if place is not None else None
