"""Country names and codes: what staff type ("Thailand", "태국", "泰国", "TH", "THA") to the ISO
3166-1 alpha-2 code a plain column holds, and the code back to a name in the page's language.

Names come from the Unicode CLDR through Babel, the data every major platform localises country
names with; the set of codes accepted stays :data:`haven.validation.COUNTRY_CODES`.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from babel import Locale
from babel.core import get_global
from django.utils import translation

# The languages whose names are accepted as input (the staff pages' two, and Chinese, which
# brokers and requesters often write place names in).
INPUT_LOCALES = ("en", "ko", "zh_Hans", "zh_Hant")
# Names people use that CLDR does not list as a country's name in these languages.
EXTRA_NAMES = {
    "KP": ("DPRK", "Korea DPR", "조선", "북조선", "朝鮮"),
    "KR": ("ROK", "Korea", "한국", "남한", "韓國"),
    "HK": ("Hong Kong", "홍콩"),
    "MO": ("Macau", "Macao", "마카오"),
    "CN": ("PRC", "중화인민공화국"),
    "RU": ("Russian Federation",),
    "VN": ("Viet Nam",),
    "LA": ("Lao PDR", "Lao People's Democratic Republic"),
}


def _fold(text: str) -> str:
    """NFKC, casefolded, with spaces, dots, hyphens and apostrophes dropped: "Viet-nam" and
    "vietnam", "태 국" and "태국" are one name."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _babel_locale(language: str) -> Locale:
    return Locale.parse({"zh-hans": "zh_Hans", "zh-hant": "zh_Hant"}.get(language, language))


@lru_cache(maxsize=1)
def _lookup() -> dict[str, str]:
    from haven.validation import COUNTRY_CODES

    names: dict[str, str] = {}
    for locale in INPUT_LOCALES:
        for code, name in _babel_locale(locale).territories.items():
            if code in COUNTRY_CODES:
                names.setdefault(_fold(name), code)
    for code, extra in EXTRA_NAMES.items():
        for name in extra:
            names.setdefault(_fold(name), code)
    # ISO alpha-3 codes (THA, PRK), as CLDR's territory aliases map them.
    for alias, targets in get_global("territory_aliases").items():
        if (
            len(alias) == 3
            and alias.isalpha()
            and len(targets) == 1
            and targets[0] in COUNTRY_CODES
        ):
            names.setdefault(_fold(alias), targets[0])
    # Alpha-2 codes last but strongest: "TH" is Thailand whatever else folds to "th".
    names.update({_fold(code): code for code in COUNTRY_CODES})
    return names


def country_code(text: str) -> str | None:
    """The alpha-2 code of a country named or coded by ``text``, or None if it is no country
    we know."""
    return _lookup().get(_fold(text)) if text else None


@lru_cache(maxsize=16)
def _names(language: str) -> dict[str, str]:
    from haven.validation import COUNTRY_CODES

    try:
        territories = _babel_locale(language).territories
    except (ValueError, LookupError):
        territories = Locale.parse("en").territories
    return {code: territories.get(code, code) for code in COUNTRY_CODES}


def country_name(code: str, language: str | None = None) -> str:
    """The name of the country ``code`` in ``language`` (the active one by default); the code
    itself when it is none we know."""
    if not code:
        return ""
    return _names(language or translation.get_language() or "en").get(code.upper(), code)


def country_names(language: str | None = None) -> list[tuple[str, str]]:
    """Every (code, name) in ``language``, sorted by name: the suggestions of a country field."""
    names = _names(language or translation.get_language() or "en")
    return sorted(names.items(), key=lambda item: item[1])
