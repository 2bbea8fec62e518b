"""The outward fields a statement may mention about a case or a group, how each may be filled
(a cover value, or the true value marked publishable, a date coarsened, a number rounded), and
how computed values are written in each language a statement is written in.

A statement's languages are English, Korean and simplified Chinese. The words here are part of
the published text, not of Haven's interface, so they are fixed tables rather than translations
that follow the reader's language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

LANGUAGES: tuple[str, ...] = ("en", "ko", "zh")
LANGUAGE_NAMES = {"en": _("English"), "ko": _("Korean"), "zh": _("Chinese")}

# How a field's value was decided.
COVER = "cover"  # a value the supervisor chose (Shanghai for the true Shanxi)
TRUE = "true"  # the true value, marked publishable with a reason
MONTH = "month"  # the true date, to the month
YEAR = "year"  # the true date, to the year
ROUNDED = "rounded"  # the true number of people, rounded
MODE_LABELS = {
    COVER: _("A cover value"),
    TRUE: _("The true value (publishable, with a reason)"),
    MONTH: _("The true date, to the month"),
    YEAR: _("The true date, to the year"),
    ROUNDED: _("The true number, rounded"),
}
# Modes that publish something computed from the true value: they need a reason.
FROM_TRUTH = frozenset({TRUE, MONTH, YEAR, ROUNDED})


@dataclass(frozen=True)
class Field:
    name: str
    label: Any  # lazy text
    help: Any
    modes: tuple[str, ...]


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field(
            "name",
            _("Name"),
            _("A pseudonym in place of the name (a group: how it may be called)."),
            (COVER, TRUE),
        ),
        Field(
            "count", _("How many people"), _("Rounded, or a cover number."), (COVER, ROUNDED, TRUE)
        ),
        Field("origin", _("Where they came from"), _("Province or city of origin."), (COVER, TRUE)),
        Field("departure", _("Departure city"), _("Where they set out from."), (COVER, TRUE)),
        Field("now", _("Where they are now"), _("A country or a region."), (COVER, TRUE)),
        Field("route", _("Route"), _("The countries they passed through."), (COVER, TRUE)),
        Field(
            "arrived",
            _("When they arrived"),
            _("Shifted, or coarsened to the month or year."),
            (COVER, MONTH, YEAR, TRUE),
        ),
        Field(
            "left",
            _("When they left"),
            _("Shifted, or coarsened to the month or year."),
            (COVER, MONTH, YEAR, TRUE),
        ),
        Field("occupation", _("Occupation"), _("What they did for a living."), (COVER, TRUE)),
    )
}

MAX_VALUE_CHARS = 200
MAX_REASON_CHARS = 2_000
MAX_LABEL_CHARS = 120

# --- Writing computed values -----------------------------------------------------------------

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def date_text(day: dt.date, precision: str) -> dict[str, str]:
    """A date in each language, to the day (``true``), the month or the year."""
    if precision == YEAR:
        return {"en": f"{day.year}", "ko": f"{day.year}년", "zh": f"{day.year}年"}
    if precision == MONTH:
        return {
            "en": f"{_MONTHS_EN[day.month - 1]} {day.year}",
            "ko": f"{day.year}년 {day.month}월",
            "zh": f"{day.year}年{day.month}月",
        }
    return {
        "en": f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}",
        "ko": f"{day.year}년 {day.month}월 {day.day}일",
        "zh": f"{day.year}年{day.month}月{day.day}日",
    }


def count_text(n: int, mode: str) -> dict[str, str]:
    """A number of people, exact (``true``) or rounded to five (fewer than five: "a few")."""
    if mode == ROUNDED:
        if n < 5:
            return {"en": "a few", "ko": "몇", "zh": "几"}
        rounded = int(5 * round(n / 5))
        return {"en": f"about {rounded}", "ko": f"약 {rounded}", "zh": f"约{rounded}"}
    return {"en": str(n), "ko": str(n), "zh": str(n)}


OCCUPATION_TEXT: dict[str, dict[str, str]] = {
    "trader": {"en": "trader", "ko": "무역 일꾼", "zh": "贸易人员"},
    "restaurant_worker": {"en": "restaurant worker", "ko": "식당 종업원", "zh": "餐厅员工"},
    "labourer": {"en": "labourer", "ko": "노동자", "zh": "劳工"},
    "official": {"en": "official", "ko": "간부", "zh": "官员"},
    "soldier": {"en": "soldier", "ko": "군인", "zh": "军人"},
    "student": {"en": "student", "ko": "학생", "zh": "学生"},
    "other": {"en": "worker", "ko": "근로자", "zh": "工作人员"},
}

COUNTRY_TEXT: dict[str, dict[str, str]] = {
    "KR": {"en": "South Korea", "ko": "한국", "zh": "韩国"},
    "KP": {"en": "North Korea", "ko": "북한", "zh": "朝鲜"},
    "CN": {"en": "China", "ko": "중국", "zh": "中国"},
    "TH": {"en": "Thailand", "ko": "태국", "zh": "泰国"},
    "LA": {"en": "Laos", "ko": "라오스", "zh": "老挝"},
    "VN": {"en": "Vietnam", "ko": "베트남", "zh": "越南"},
    "KH": {"en": "Cambodia", "ko": "캄보디아", "zh": "柬埔寨"},
    "MM": {"en": "Myanmar", "ko": "미얀마", "zh": "缅甸"},
    "MN": {"en": "Mongolia", "ko": "몽골", "zh": "蒙古"},
    "RU": {"en": "Russia", "ko": "러시아", "zh": "俄罗斯"},
    "JP": {"en": "Japan", "ko": "일본", "zh": "日本"},
    "US": {"en": "the United States", "ko": "미국", "zh": "美国"},
}


def country_text(code: str) -> dict[str, str]:
    return COUNTRY_TEXT.get(code, {lang: code for lang in LANGUAGES})


def countries_text(codes: list[str]) -> dict[str, str]:
    """Countries in the order passed through, in each language."""
    names = [country_text(code) for code in codes]
    return {
        "en": ", ".join(n["en"] for n in names),
        "ko": ", ".join(n["ko"] for n in names),
        "zh": "、".join(n["zh"] for n in names),
    }


def value_in(values: dict[str, str], language: str) -> str:
    """A field's value for ``language``, else the first language that has one."""
    if values.get(language):
        return values[language]
    for other in LANGUAGES:
        if values.get(other):
            return values[other]
    return ""
