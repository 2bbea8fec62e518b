"""The portal's languages and where each lives: the language is in the path, never guessed.

Korean is the default at ``/portal/…``; every other language has its own prefix. A borrowed
phone's Accept-Language says nothing about the person holding it, and a cookie would be one more
thing left behind on it.
"""

from __future__ import annotations

from typing import NamedTuple


class Language(NamedTuple):
    code: str  # Django's language code, used for translation.override and Content-Language
    prefix: str  # the path segment under /portal/ ("" for the default)
    label: str  # the language's name in itself, shown in the switch


LANGUAGES = (
    Language("ko", "", "한국어"),
    Language("en", "en/", "English"),
    Language("zh-hans", "zh/", "简体中文"),
)
DEFAULT = LANGUAGES[0]
CODES = tuple(language.code for language in LANGUAGES)
_BY_CODE = {language.code: language for language in LANGUAGES}


def url_name(page: str, code: str) -> str:
    """The URL name of ``page`` in language ``code`` (``ask``, ``ask-en``, ``ask-zh-hans``)."""
    return page if code == DEFAULT.code else f"{page}-{code}"


def others(code: str) -> tuple[Language, ...]:
    return tuple(language for language in LANGUAGES if language.code != code)


def from_path(path: str) -> str:
    """The language a portal path is in (for error pages, which have no resolved view)."""
    for language in LANGUAGES[1:]:
        if path.startswith(f"/portal/{language.prefix}"):
            return language.code
    return DEFAULT.code


def known(code: str) -> str:
    return code if code in _BY_CODE else DEFAULT.code
