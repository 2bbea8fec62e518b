"""A case's coarse facts: what statistics may count about it, and nothing else.

Computed by whoever changes the case, from what they hold anyway (the person's payload, the
request's channel and date, the journey's states and countries), then sealed to the statistics
key (:mod:`haven.stats.store`). Months, never days: a person's facts say in which month they
asked and settled, not on which day; the time from request to arrival is kept in whole days
(the median and quartiles need it), without either date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from haven.stats import categories as cat

FACTS_VERSION = 1
# States that settle a case (an outcome), besides reaching "arrived".
SETTLED = {"declined": "declined", "withdrawn": "withdrawn", "repatriated": "repatriated"}
SETTLED_TOO = {"deceased": "deceased", "closed": "closed"}
THIRD_STATES = ("in_third_country", "awaiting_flight")
TRANSIT_STATES = ("in_transit",)


def stats_public_category(
    *,
    field: str,
    true_value: str,
    case_payload: dict[str, Any] | None = None,
    person_payload: dict[str, Any] | None = None,
) -> str:
    """The category statistics may count for ``field`` ("origin", "occupation" or "route"):
    the case's (or its group's) publishable cover value where one is set (issue 14), else the
    true category. THE ONE PLACE to switch statistics to cover values: today it returns the true
    category; the payloads are passed so that the cover value can be read from them."""
    return true_value


def _local(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()


def _month(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    day = _local(moment)
    return f"{day.year:04d}-{day.month:02d}"


def case_facts(
    *,
    state: str,
    state_changed_at: dt.datetime,
    received_at: dt.datetime,
    channel: str,
    carries_request: bool,
    person: dict[str, Any],
    events: Iterable[tuple[str, str, dt.datetime]] = (),
    case_payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The coarse facts of one case. ``events``: its journey as (to_state, country, occurred_at),
    oldest first; ``person``: the person's payload."""
    events = list(events)
    received = _local(received_at)
    occupation = stats_public_category(
        field="occupation",
        true_value=cat.occupation_category(str(person.get("occupation") or "")),
        case_payload=case_payload,
        person_payload=person,
    )
    origin = stats_public_category(
        field="origin",
        true_value=cat.province_code(cat.province_of(str(person.get("origin_region") or ""))),
        case_payload=case_payload,
        person_payload=person,
    )
    outcome, outcome_at, days = "", None, None
    arrived = next((at for to_state, _c, at in events if to_state == "arrived"), None)
    if arrived is not None:
        outcome, outcome_at = "arrived", arrived
        days = max(0, (_local(arrived) - received).days)
    elif state in SETTLED or state in SETTLED_TOO:
        outcome, outcome_at = {**SETTLED, **SETTLED_TOO}[state], state_changed_at
    route = next((c for to_state, c, _at in events if to_state in THIRD_STATES and c), "")
    if not route:
        route = next(
            (
                c
                for to_state, c, _at in events
                if to_state in TRANSIT_STATES and c not in cat.NOT_THIRD
            ),
            "",
        )
    third = stats_public_category(
        field="route",
        true_value=cat.third_country(route),
        case_payload=case_payload,
        person_payload=person,
    )
    return {
        "v": FACTS_VERSION,
        "rm": _month(received_at),
        "rq": 1 if carries_request else 0,
        "dup": 1 if state == "duplicate" else 0,
        "ch": channel if channel in cat.CHANNELS else "staff",
        "oc": occupation if occupation in cat.OCCUPATIONS else "other",
        "pr": origin if origin in cat.ORIGINS else cat.UNKNOWN_PROVINCE,
        "sx": person.get("sex") if person.get("sex") in cat.SEXES else "unknown",
        "ag": cat.age_band(person.get("birth"), received),
        "out": outcome,
        "om": _month(outcome_at),
        "tc": third if third in cat.THIRD_COUNTRIES else "other",
        "da": days,
    }
