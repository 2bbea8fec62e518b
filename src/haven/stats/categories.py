"""The categories statistics count by: their codes (stable, what is stored and exported) and
their display names (translated).

Every dimension has a fixed list of codes, known before any data is looked at: the attacker's
audit (:mod:`haven.stats.audit`) must know every cell that *could* hold someone, not only those
that do. An unknown value is never a new category: it falls into ``other`` or ``unknown``.

``province_of`` and ``occupation_category`` are minimal stand-ins for the matching engine's
(``haven.matching.places.province_of`` and ``haven.matching.occupations.occupation_category``,
being written at the same time): REPLACED AT MERGE by imports of the real ones, which return the
same kind of value (a province code or None; an occupation category code).
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# --- North Korean provinces (ISO 3166-2:KP codes) -----------------------------------------------

PROVINCES: dict[str, Promise] = {
    "KP-01": _("Pyongyang"),
    "KP-02": _("South Pyongan"),
    "KP-03": _("North Pyongan"),
    "KP-04": _("Chagang"),
    "KP-05": _("South Hwanghae"),
    "KP-06": _("North Hwanghae"),
    "KP-07": _("Kangwon"),
    "KP-08": _("South Hamgyong"),
    "KP-09": _("North Hamgyong"),
    "KP-10": _("Ryanggang"),
    "KP-13": _("Rason"),
    "KP-14": _("Nampo"),
    "KP-15": _("Kaesong"),
}

# Stand-in only: provinces and the larger cities in them, in Hangul (both spellings of the
# initial ㄹ) and in the usual romanizations.
_PLACE_NAMES: dict[str, tuple[str, ...]] = {
    "KP-01": ("평양", "pyongyang", "pyeongyang"),
    "KP-02": ("평안남도", "평남", "south pyongan", "pyongannamdo", "평성", "pyongsong", "안주"),
    "KP-03": ("평안북도", "평북", "north pyongan", "pyonganbukdo", "신의주", "sinuiju", "정주"),
    "KP-04": ("자강도", "자강", "chagang", "강계", "kanggye", "만포", "manpo"),
    "KP-05": ("황해남도", "황남", "south hwanghae", "해주", "haeju"),
    "KP-06": ("황해북도", "황북", "north hwanghae", "사리원", "sariwon"),
    "KP-07": ("강원도", "kangwon", "gangwon", "원산", "wonsan"),
    "KP-08": ("함경남도", "함남", "south hamgyong", "함흥", "hamhung", "hamheung", "단천"),
    "KP-09": (
        "함경북도",
        "함북",
        "north hamgyong",
        "청진",
        "chongjin",
        "회령",
        "hoeryong",
        "무산",
        "musan",
        "온성",
    ),
    "KP-10": ("량강도", "양강도", "ryanggang", "yanggang", "혜산", "hyesan", "삼지연", "대홍단"),
    "KP-13": ("라선", "나선", "rason", "rajin", "nason"),
    "KP-14": ("남포", "nampo", "nampho"),
    "KP-15": ("개성", "kaesong", "gaeseong"),
}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().replace("-", " ").strip()


def province_of(text: str) -> str | None:
    """The province a free-text place of origin names, or None (stand-in; see the module)."""
    folded = _fold(text or "")
    if not folded:
        return None
    # Longer names first, so that "south pyongan" wins over "pyongan" and 평안남도 over 평양.
    candidates = sorted(
        ((name, code) for code, names in _PLACE_NAMES.items() for name in names),
        key=lambda item: -len(item[0]),
    )
    for name, code in candidates:
        if _fold(name) in folded:
            return code
    return None


# --- Occupations --------------------------------------------------------------------------------

OCCUPATIONS: dict[str, Promise] = {
    "trader": _("Trader"),
    "restaurant_worker": _("Restaurant worker"),
    "labourer": _("Labourer"),
    "official": _("Official"),
    "soldier": _("Soldier"),
    "student": _("Student"),
    "other": _("Other occupation"),
    "unknown": _("Occupation not known"),
}


def occupation_category(text: str) -> str:
    """The category of a (free-text) occupation (stand-in; see the module)."""
    folded = _fold(text or "").replace(" ", "_")
    if not folded:
        return "unknown"
    return folded if folded in OCCUPATIONS else "other"


# --- The rest -----------------------------------------------------------------------------------

CHANNELS: dict[str, Promise] = {
    "direct_line": _("Direct line"),
    "broker": _("Broker"),
    "partner": _("Partner"),
    "staff": _("Staff"),
}

SEXES: dict[str, Promise] = {
    "female": _("Female"),
    "male": _("Male"),
    "other": _("Other"),
    "unknown": _("Sex not recorded"),
}

# (code, label, lowest age, highest age)
AGE_BANDS: tuple[tuple[str, Promise, int, int], ...] = (
    ("0-17", _("Under 18"), 0, 17),
    ("18-24", _("18–24"), 18, 24),
    ("25-34", _("25–34"), 25, 34),
    ("35-44", _("35–44"), 35, 44),
    ("45-54", _("45–54"), 45, 54),
    ("55+", _("55 and over"), 55, 200),
)
AGES: dict[str, Promise] = {code: label for code, label, _lo, _hi in AGE_BANDS}
AGES["unknown"] = _("Age not known")


def age_band(birth: dict[str, str] | None, on: dt.date) -> str:
    """The age band on ``on`` of someone born at ``birth`` (the person payload's shape: a value
    and its precision, year, month or day). With only a year, the age is the one they reach in
    that year; "unknown" without a birth year."""
    birth = birth or {}
    value = str(birth.get("value") or "")
    if (birth.get("precision") or "unknown") == "unknown" or len(value) < 4:
        return "unknown"
    try:
        year = int(value[:4])
        month = int(value[5:7]) if len(value) >= 7 else 1
        day = int(value[8:10]) if len(value) >= 10 else 1
    except ValueError:
        return "unknown"
    age = on.year - year - ((on.month, on.day) < (month, day))
    for code, _label, low, high in AGE_BANDS:
        if low <= age <= high:
            return code
    return "unknown"


# What became of a case, once it is settled. Detention and lost contact are not outcomes: the
# person may still be on the way, and saying so is what must never be published.
OUTCOMES: dict[str, Promise] = {
    "arrived": _("Arrived"),
    "declined": _("Declined"),
    "withdrawn": _("Withdrawn"),
    "repatriated": _("Repatriated"),
    "deceased": _("Deceased"),
    "closed": _("Closed without arriving"),
}

# Third countries of the route, by ISO code; the rest is "other", no third country "none".
THIRD_COUNTRIES: dict[str, Promise] = {
    "TH": _("Thailand"),
    "LA": _("Laos"),
    "VN": _("Vietnam"),
    "KH": _("Cambodia"),
    "MN": _("Mongolia"),
    "RU": _("Russia"),
    "other": _("Another country"),
    "none": _("No third country recorded"),
}
# Countries that are not a third country on the way: where people start and where they land.
NOT_THIRD = frozenset({"", "KP", "CN", "KR"})


def third_country(code: str) -> str:
    code = (code or "").upper()
    if code in NOT_THIRD:
        return "none"
    return code if code in THIRD_COUNTRIES else "other"


UNKNOWN_PROVINCE = "unknown"


def province_code(code: str | None) -> str:
    return code if code in PROVINCES else UNKNOWN_PROVINCE


ORIGINS: dict[str, Promise] = {**PROVINCES, UNKNOWN_PROVINCE: _("Province not known")}

# Every dimension statistics may be broken down by, with its codes in display order.
DIMENSIONS: dict[str, dict[str, Promise]] = {
    "channel": CHANNELS,
    "occupation": OCCUPATIONS,
    "origin": ORIGINS,
    "sex": SEXES,
    "age": AGES,
    "outcome": OUTCOMES,
    "third_country": THIRD_COUNTRIES,
}
DIMENSION_LABELS: dict[str, Promise] = {
    "period": _("Period"),
    "channel": _("Channel"),
    "occupation": _("Occupation"),
    "origin": _("Province of origin"),
    "sex": _("Sex"),
    "age": _("Age band"),
    "outcome": _("Outcome"),
    "third_country": _("Third country of the route"),
}


def label(dimension: str, code: str) -> str:
    """The display name of a category (in the active language)."""
    names = DIMENSIONS.get(dimension, {})
    return str(names[code]) if code in names else code
