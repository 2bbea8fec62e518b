"""The categories statistics count by: their codes (stable, what is stored and exported) and
their display names (translated).

Every dimension has a fixed list of codes, known before any data is looked at: the attacker's
audit (:mod:`haven.stats.audit`) must know every cell that *could* hold someone, not only those
that do. An unknown value is never a new category: it falls into ``other`` or ``unknown``.

``province_of`` and ``occupation_category`` are the matching engine's readings of a written origin
and occupation (``haven.matching.places``, ``haven.matching.occupations``).
"""

from __future__ import annotations

import datetime as dt

from django.utils import translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from haven.matching import occupations, places

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


def province_of(text: str) -> str | None:
    """The province a free-text place of origin names, or None: the matching engine's reading of
    places (Hangul in both spellings, the romanizations, abbreviations, old names, a town for its
    province: :func:`haven.matching.places.province_of`), so statistics and duplicate detection
    read an origin the same way."""
    return places.province_of(text or "")


# --- Occupations --------------------------------------------------------------------------------

# The matching engine's categories (haven.matching.occupations: an occupation is kept as written
# and read into one of these for display and counting). Chinese names here; English and Korean
# come with the categories.
_OCCUPATIONS_ZH = {
    "farmer": "农民",
    "labourer": "工人",
    "miner": "矿工",
    "fisher": "渔民、船员",
    "restaurant_worker": "餐馆服务员",
    "trader": "商人",
    "official": "干部、公务员",
    "soldier": "军人",
    "student": "学生",
    "teacher": "教师",
    "medical": "医务人员",
    "driver": "司机",
    "technician": "技术人员、IT",
    "office_worker": "办公室职员",
    "artist": "文艺、体育工作者",
    "homemaker": "家庭主妇",
    "unemployed": "无业",
    "other": "其他职业",
    "unknown": "职业不详",
}


def _occupation_label(code: str) -> str:
    language = translation.get_language() or "en"
    if language.startswith("zh"):
        return _OCCUPATIONS_ZH.get(code, code)
    return occupations.category_name(code, language)


_occupation_lazy = lazy(_occupation_label, str)
OCCUPATIONS: dict[str, Promise] = {
    code: _occupation_lazy(code)  # type: ignore[misc]  # a lazy str is a Promise
    for code, _en, _ko in occupations.CATEGORIES
}


def occupation_category(text: str) -> str:
    """The category of an occupation as written (:func:`haven.matching.occupations.
    occupation_category`)."""
    return occupations.occupation_category(text or "")


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
