"""Checking each row of a sheet against a mapping: what will load, and what will not, and why.

A row becomes the JSON that :mod:`haven.imports.services` commits (the person's payload as
:func:`haven.cases.services.person_payload` makes it, the case's and request's fields), or a
list of (row, column, reason). Rows sharing a request reference are one request and load
together: if one of them cannot load, none of them does (a group is never split by an import).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from haven import access
from haven.accounts.models import User
from haven.cases.journey import State
from haven.cases.models import Channel, Confidence, Urgency
from haven.cases.services import (
    MAX_ACCOUNT_CHARS,
    MAX_NOTE_CHARS,
    MAX_PEOPLE_PER_REQUEST,
    PersonInput,
    person_payload,
)
from haven.imports import columns as c
from haven.imports.dates import DateError, PartialDate, parse_date, parse_flag
from haven.imports.reading import Table
from haven.validation import COUNTRY_CODES, clean_text

REQUEST_FIELDS = (
    "received_at",
    "channel",
    "urgency",
    "country",
    "region",
    "account",
    "contact",
    "owner",
    "group_label",
)


@dataclass
class RowError:
    row: int
    column: str  # the header as in the file ("" for the row as a whole)
    reason: str

    def as_list(self) -> list[Any]:
        return [self.row, self.column, self.reason]


@dataclass
class Checked:
    """The outcome of checking every row: rows that load (as committed), and errors."""

    valid: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # headers not imported

    @property
    def invalid_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})


def _has_hangul(text: str) -> bool:
    return any("HANGUL" in unicodedata.name(ch, "") for ch in text)


class _Row:
    """One row being checked: the cells by field, and the errors found so far."""

    def __init__(self, number: int, cells: dict[str, str], columns: dict[str, str]):
        self.number = number
        self.cells = cells  # field -> text
        self.columns = columns  # field -> header
        self.errors: list[RowError] = []

    def get(self, name: str) -> str:
        return self.cells.get(name, "")

    def error(self, name: str, reason: str) -> None:
        self.errors.append(RowError(self.number, self.columns.get(name, ""), reason))


def _date(row: _Row, name: str, options: c.Options) -> PartialDate | None:
    text = row.get(name)
    try:
        return parse_date(text, order=options.date_order) if text else None
    except DateError as exc:
        row.error(name, str(exc))
        return None


def _moment(date: PartialDate) -> dt.datetime:
    """A date as a moment (noon, local time: no time zone shifts it to another day)."""
    return timezone.make_aware(dt.datetime.combine(date.as_date(), dt.time(12, 0)))


def _choice(row: _Row, name: str, table: dict[str, str], default: str, what: str) -> str:
    text = row.get(name)
    if not text:
        return default
    found = c.choice_of(table, text)
    if found is None:
        row.error(
            name,
            _("“%(value)s” is not a %(what)s Haven knows.") % {"value": text[:60], "what": what},
        )
        return default
    return found


def _country(row: _Row, name: str, default: str) -> str:
    text = row.get(name)
    if not text:
        return default
    found = c.choice_of(c.COUNTRIES, text)
    if found:
        return found
    code = text.strip().upper()
    if len(code) == 2 and code in COUNTRY_CODES:
        return code
    row.error(
        name,
        _("“%(value)s” is not a country Haven knows: write its ISO code (TH, CN, KR…).")
        % {"value": text[:60]},
    )
    return default


def _person(row: _Row, options: c.Options) -> tuple[dict[str, Any] | None, str]:
    hangul, romanized = row.get("name_hangul"), row.get("name_romanized")
    if hangul and not _has_hangul(hangul) and not romanized:
        # "Name" columns of English sheets hold romanized names.
        hangul, romanized = "", hangul
    lunar = None
    if row.get("birth_lunar"):
        lunar = parse_flag(row.get("birth_lunar"))
        if lunar is None:
            row.error("birth_lunar", _("Write yes or no (음력 / 양력)."))
    birth = None
    if row.get("birth"):
        try:
            birth = parse_date(row.get("birth"), order=options.date_order, lunar=lunar)
        except DateError as exc:
            row.error("birth", str(exc))
    sex = _choice(row, "sex", c.SEXES, "unknown", _("sex"))
    occupation = row.get("occupation")
    code = c.choice_of(c.OCCUPATIONS, occupation) if occupation else "unknown"
    person = PersonInput(
        name_hangul=hangul,
        name_romanized=romanized,
        aliases=row.get("aliases"),  # type: ignore[arg-type]  # split by clean_text_list
        sex=sex,
        birth_value=birth.value if birth else "",
        birth_precision=birth.precision if birth else "unknown",
        origin_region=row.get("origin_region"),
        occupation=code or occupation,
    )
    if birth is not None:
        person.birth_calendar = birth.calendar
    try:
        data = person_payload(person)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            name = key.rsplit(".", 1)[-1]
            name = {"birth_value": "birth", "birth_precision": "birth", "name": "name_hangul"}.get(
                name, name
            )
            if name == "name_hangul" and "name_hangul" not in row.columns:
                name = "name_romanized" if "name_romanized" in row.columns else "aliases"
            for message in messages:
                row.error(name, message)
        return None, ""
    if birth is not None:
        data["birth"]["calendar"] = birth.calendar
    return data, birth.calendar if birth else ""


def _text(row: _Row, name: str, limit: int, *, multiline: bool = True) -> str:
    try:
        return clean_text(row.get(name), field=name, max_length=limit, multiline=multiline)
    except ValidationError as exc:
        for message in exc.message_dict.get(name, exc.messages):
            row.error(name, message)
        return ""


class _Owners:
    """Owner usernames looked up once each."""

    def __init__(self) -> None:
        self.found: dict[str, User | None] = {}

    def get(self, username: str) -> User | None:
        key = username.strip().casefold()
        if key not in self.found:
            self.found[key] = User.objects.filter(username__iexact=username.strip()).first()
        return self.found[key]


def _request_fields(
    row: _Row, options: c.Options, owners: _Owners, now: dt.datetime
) -> dict[str, Any]:
    received = _date(row, "received_at", options)
    received_at = _moment(received) if received else None
    if received_at is not None and (received_at > now or received_at.year < 1990):
        row.error("received_at", _("The date received must be between 1990 and today."))
    owner_id = None
    if row.get("owner"):
        owner = owners.get(row.get("owner"))
        if owner is None or not owner.is_active:
            row.error(
                "owner",
                _("No active staff member is called “%(name)s”.") % {"name": row.get("owner")[:60]},
            )
        elif not access.allowed(owner, "case.own"):
            row.error(
                "owner",
                _("%(name)s's role cannot own cases (caseworkers, supervisors or intake officers).")
                % {"name": owner.username},
            )
        else:
            owner_id = owner.pk
    return {
        "received_at": received_at.isoformat() if received_at else "",
        "channel": _choice(row, "channel", c.CHANNELS, options.default_channel, _("channel")),
        "urgency": int(
            _choice(row, "urgency", c.URGENCIES, str(options.default_urgency), _("urgency"))
        ),
        "country": _country(row, "country", options.default_country),
        "region": _text(row, "region", 200, multiline=False),
        "account": _text(row, "account", MAX_ACCOUNT_CHARS),
        "contact": _text(row, "contact", 1_000),
        "owner": owner_id,
        "group_label": _text(row, "group_label", 200, multiline=False),
    }


def _journey(row: _Row, options: c.Options, received_at: str, now: dt.datetime) -> dict[str, Any]:
    state = _choice(row, "state", c.STATES, State.RECEIVED, _("journey state"))
    confidence = _choice(row, "confidence", c.CONFIDENCES, Confidence.UNVERIFIED, _("confidence"))
    date = _date(row, "state_date", options)
    when = _moment(date) if date else None
    if when is not None:
        if when > now:
            row.error("state_date", _("The date of the state cannot be in the future."))
        elif received_at and when < dt.datetime.fromisoformat(received_at) - dt.timedelta(days=1):
            row.error("state_date", _("The date of the state is before the date received."))
    return {
        "state": state,
        "state_date": when.isoformat() if when else "",
        "confidence": confidence,
    }


def check_rows(*, table: Table, mapping: dict[str, str], options: c.Options) -> Checked:
    """Check every row of ``table`` under ``mapping`` (already cleaned by
    :func:`~haven.imports.columns.mapping_clean`)."""
    columns = {name: header for header, name in mapping.items() if name}
    index = {header: i for i, header in enumerate(table.headers) if header}
    checked = Checked(unmapped=[h for h, name in mapping.items() if not name])
    formulas: dict[int, list[int]] = {}
    for number, column in table.formulas:
        formulas.setdefault(number, []).append(column)
    owners = _Owners()
    now = timezone.now()
    by_ref: dict[str, list[tuple[_Row, dict[str, Any]]]] = {}
    order: list[str] = []
    for number, cells in table.rows:
        row = _Row(
            number,
            {
                name: cells[index[header]]
                for name, header in columns.items()
                if index[header] < len(cells)
            },
            columns,
        )
        for column in formulas.get(number, []):
            header = table.headers[column] if column < len(table.headers) else ""
            row.errors.append(
                RowError(
                    number,
                    header,
                    _(
                        "A formula, not a value: type the value itself (formulas are never imported)."
                    ),
                )
            )
        person, _calendar = _person(row, options)
        request = _request_fields(row, options, owners, now)
        journey = _journey(row, options, request["received_at"], now)
        data = {
            "row": number,
            "person": person,
            "own_words": _text(row, "own_words", MAX_NOTE_CHARS),
            "summary": _text(row, "summary", MAX_NOTE_CHARS),
            "request": request,
            **journey,
        }
        ref = " ".join(row.get("request_ref").split())[:100]
        key = f"ref:{ref.casefold()}" if ref else f"row:{number}"
        if key not in by_ref:
            order.append(key)
        by_ref.setdefault(key, []).append((row, data))
    for key in order:
        members = by_ref[key]
        _check_request(members, key)
        if any(row.errors for row, _data in members):
            for row, _data in members:
                checked.errors += row.errors
            broken = [row.number for row, _data in members if row.errors]
            for row, _data in members:
                if not row.errors:
                    checked.errors.append(
                        RowError(
                            row.number,
                            columns.get("request_ref", ""),
                            _("Not loaded with the rest of its request: row %(rows)s has errors.")
                            % {"rows": ", ".join(str(n) for n in broken[:5])},
                        )
                    )
            continue
        first = members[0][1]["request"]
        for _row, data in members:
            data["request"] = first
            data["ref"] = key
            checked.valid.append(data)
    return checked


def _check_request(members: list[tuple[_Row, dict[str, Any]]], key: str) -> None:
    """Rows of one request agree on its fields (a later row may leave them empty)."""
    if len(members) > MAX_PEOPLE_PER_REQUEST:
        for row, _data in members:
            row.error(
                "request_ref",
                _("A request can cover at most %(n)d people; this reference has %(count)d rows.")
                % {"n": MAX_PEOPLE_PER_REQUEST, "count": len(members)},
            )
        return
    first_row, first = members[0]
    for row, data in members[1:]:
        for name in REQUEST_FIELDS:
            if row.get(name) and data["request"][name] != first["request"][name]:
                row.error(
                    name,
                    _("Differs from row %(row)d, the first row of the same request.")
                    % {"row": first_row.number},
                )


__all__ = ["Channel", "Checked", "RowError", "Urgency", "check_rows"]
