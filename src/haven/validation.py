"""Input cleaning shared by services: lengths, control characters, dates, country codes."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

# ISO 3166-1 alpha-2, the only place detail a plain column may hold.
COUNTRY_CODES = frozenset(
    [
        "AD",
        "AE",
        "AF",
        "AG",
        "AI",
        "AL",
        "AM",
        "AO",
        "AQ",
        "AR",
        "AS",
        "AT",
        "AU",
        "AW",
        "AX",
        "AZ",
        "BA",
        "BB",
        "BD",
        "BE",
        "BF",
        "BG",
        "BH",
        "BI",
        "BJ",
        "BL",
        "BM",
        "BN",
        "BO",
        "BQ",
        "BR",
        "BS",
        "BT",
        "BV",
        "BW",
        "BY",
        "BZ",
        "CA",
        "CC",
        "CD",
        "CF",
        "CG",
        "CH",
        "CI",
        "CK",
        "CL",
        "CM",
        "CN",
        "CO",
        "CR",
        "CU",
        "CV",
        "CW",
        "CX",
        "CY",
        "CZ",
        "DE",
        "DJ",
        "DK",
        "DM",
        "DO",
        "DZ",
        "EC",
        "EE",
        "EG",
        "EH",
        "ER",
        "ES",
        "ET",
        "FI",
        "FJ",
        "FK",
        "FM",
        "FO",
        "FR",
        "GA",
        "GB",
        "GD",
        "GE",
        "GF",
        "GG",
        "GH",
        "GI",
        "GL",
        "GM",
        "GN",
        "GP",
        "GQ",
        "GR",
        "GS",
        "GT",
        "GU",
        "GW",
        "GY",
        "HK",
        "HM",
        "HN",
        "HR",
        "HT",
        "HU",
        "ID",
        "IE",
        "IL",
        "IM",
        "IN",
        "IO",
        "IQ",
        "IR",
        "IS",
        "IT",
        "JE",
        "JM",
        "JO",
        "JP",
        "KE",
        "KG",
        "KH",
        "KI",
        "KM",
        "KN",
        "KP",
        "KR",
        "KW",
        "KY",
        "KZ",
        "LA",
        "LB",
        "LC",
        "LI",
        "LK",
        "LR",
        "LS",
        "LT",
        "LU",
        "LV",
        "LY",
        "MA",
        "MC",
        "MD",
        "ME",
        "MF",
        "MG",
        "MH",
        "MK",
        "ML",
        "MM",
        "MN",
        "MO",
        "MP",
        "MQ",
        "MR",
        "MS",
        "MT",
        "MU",
        "MV",
        "MW",
        "MX",
        "MY",
        "MZ",
        "NA",
        "NC",
        "NE",
        "NF",
        "NG",
        "NI",
        "NL",
        "NO",
        "NP",
        "NR",
        "NU",
        "NZ",
        "OM",
        "PA",
        "PE",
        "PF",
        "PG",
        "PH",
        "PK",
        "PL",
        "PM",
        "PN",
        "PR",
        "PS",
        "PT",
        "PW",
        "PY",
        "QA",
        "RE",
        "RO",
        "RS",
        "RU",
        "RW",
        "SA",
        "SB",
        "SC",
        "SD",
        "SE",
        "SG",
        "SH",
        "SI",
        "SJ",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SR",
        "SS",
        "ST",
        "SV",
        "SX",
        "SY",
        "SZ",
        "TC",
        "TD",
        "TF",
        "TG",
        "TH",
        "TJ",
        "TK",
        "TL",
        "TM",
        "TN",
        "TO",
        "TR",
        "TT",
        "TV",
        "TW",
        "TZ",
        "UA",
        "UG",
        "UM",
        "US",
        "UY",
        "UZ",
        "VA",
        "VC",
        "VE",
        "VG",
        "VI",
        "VN",
        "VU",
        "WF",
        "WS",
        "YE",
        "YT",
        "ZA",
        "ZM",
        "ZW",
    ]
)
# Control characters (NUL included) and lone surrogates, which no database or cipher can store.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MAX_FUTURE_SKEW = dt.timedelta(minutes=5)


def clean_text(
    value: Any, *, field: str, max_length: int, required: bool = False, multiline: bool = True
) -> str:
    """Normalise to NFC, refuse control characters (NUL included) and overlong text."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({field: _("Must be text.")})
    value = unicodedata.normalize("NFC", value).strip()
    if not multiline:
        value = " ".join(value.split())
    if _CONTROL.search(value):
        raise ValidationError(
            {
                field: _(
                    "Contains control characters (such as NUL) or broken characters that cannot "
                    "be stored."
                )
            }
        )
    if len(value) > max_length:
        raise ValidationError(
            {
                field: _("Is %(length)s characters long; at most %(max)s are allowed.")
                % {"length": f"{len(value):,}", "max": f"{max_length:,}"}
            }
        )
    if required and not value:
        raise ValidationError({field: _("This field is required.")})
    return value


# Joiners some scripts need inside a word (Persian, Indic); every other format character
# (bidirectional overrides, zero-width spaces, invisible separators) only hides or disguises text.
_JOINERS = frozenset("\u200c\u200d")


def clean_label(value: Any, *, field: str, max_length: int, required: bool = False) -> str:
    """A name others pick from a list (a partner agency): one line of :func:`clean_text`, with
    no invisible or text-reversing characters, no unassigned or private-use code points, and at
    least one letter or digit, so that two entries cannot look alike while differing."""
    value = clean_text(
        value, field=field, max_length=max_length, required=required, multiline=False
    )
    for char in value:
        category = unicodedata.category(char)
        if (category == "Cf" and char not in _JOINERS) or category in ("Co", "Cn"):
            raise ValidationError(
                {
                    field: f"Contains an invisible or reordering character (U+{ord(char):04X}); "
                    "type the name with visible characters only."
                }
            )
    if value and not any(unicodedata.category(char)[0] in "LN" for char in value):
        raise ValidationError({field: "Must contain letters or digits."})
    return value


def label_key(value: str) -> str:
    """What makes two labels the same to a reader: compatibility forms (full-width letters,
    ligatures), case, joiners and spacing do not count."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return " ".join("".join(char for char in folded if char not in _JOINERS).split())


def clean_text_list(values: Any, *, field: str, max_items: int, max_length: int) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [part for part in re.split(r"[,\n;]", values)]
    if not isinstance(values, list | tuple):
        raise ValidationError({field: _("Must be a list of text.")})
    cleaned = [clean_text(v, field=field, max_length=max_length, multiline=False) for v in values]
    cleaned = [v for v in cleaned if v]
    if len(cleaned) > max_items:
        raise ValidationError({field: _("At most %(n)d entries are allowed.") % {"n": max_items}})
    return cleaned


MAX_COUNTRY_CHARS = 100


def clean_country(value: Any, *, field: str = "country", required: bool = False) -> str:
    """The ISO 3166-1 alpha-2 code of the country ``value`` names or codes: "TH", "tha",
    "Thailand", "태국" and "泰国" are all TH (:mod:`haven.countries`)."""
    from haven.countries import country_code

    text = clean_text(
        value, field=field, max_length=MAX_COUNTRY_CHARS, required=required, multiline=False
    )
    if not text:
        return ""
    code = country_code(text)
    if code is None:
        raise ValidationError(
            {
                field: _(
                    "“%(value)s” is not a country we know: type its name (Thailand, 태국, 泰国) "
                    "or its ISO code (TH)."
                )
                % {"value": text}
            }
        )
    return code


def clean_past_datetime(value: Any, *, field: str, default_now: bool = True) -> dt.datetime:
    """A moment that has already happened (a few minutes of clock skew allowed)."""
    now = timezone.now()
    if value is None or value == "":
        if default_now:
            return now
        raise ValidationError({field: _("This field is required.")})
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(12, 0))
    if not isinstance(value, dt.datetime):
        raise ValidationError({field: _("Must be a date and time.")})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now + MAX_FUTURE_SKEW:
        raise ValidationError({field: _("Cannot be in the future.")})
    if value.year < 1900:
        raise ValidationError({field: _("Is implausibly far in the past.")})
    return value


def clean_choice(value: Any, *, field: str, choices: Sequence[object] | frozenset[str]) -> str:
    if value not in choices:
        raise ValidationError(
            {
                field: _("“%(value)s” is not one of: %(choices)s.")
                % {"value": value, "choices": ", ".join(sorted(map(str, choices)))}
            }
        )
    return str(value)
