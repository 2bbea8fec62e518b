"""Seed a demo organisation through the real services, deterministically for a given seed.

Every record is written by the same service functions staff use (so access checks, validation,
encryption and the audit trail all apply); the acting users are the demo staff themselves.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from haven.accounts.models import Role, Team, User
from haven.accounts.services import user_create, user_set_partner
from haven.brokers.models import Broker, BrokerStatus
from haven.brokers.services import broker_create, broker_set_status
from haven.cases.journey import MAIN_PATH, State, is_active
from haven.cases.models import (
    Case,
    Channel,
    Confidence,
    Group,
    JourneyEvent,
    Request,
    RequestStatus,
    Source,
    Urgency,
)
from haven.cases.services import (
    PersonInput,
    case_update,
    group_advance,
    journey_advance,
    note_add,
    request_create,
    request_triage,
)
from haven.crypto import KeyContext
from haven.demo import data
from haven.referrals.models import ConsentMethod, Partner, Purpose, Referral, ReferralStatus
from haven.referrals.services import (
    consent_record,
    consent_revoke,
    partner_create,
    referral_approve,
    referral_create,
    referral_respond,
    referral_send,
    referral_submit,
    referral_withdraw,
)
from haven.vault.services import org_keys_setup, team_key_create, team_keys_share_pending

MIN_CASES = 30
S = State


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    team: str
    does: str


@dataclass
class DemoSummary:
    password: str
    logins: list[DemoLogin]
    recovery_words: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


TEAM_NORTH = "North team (Liaoning, Jilin)"
TEAM_SOUTH = "South team (Mekong route)"
# username, role, team, first name, what they do
DEMO_USERS: list[tuple[str, Role, str | None, str, str]] = [
    ("alice", Role.SUPERVISOR, TEAM_NORTH, "Alice", "assigns cases, approves referrals"),
    ("bob", Role.CASEWORKER, TEAM_NORTH, "Bob", "caseworker, sees his team's cases"),
    ("carol", Role.CASEWORKER, TEAM_SOUTH, "Carol", "caseworker, sees her team's cases"),
    ("dave", Role.INTAKE, None, "Dave", "triages new requests"),
    ("erin", Role.ADMIN, None, "Erin", "manages users; reads no cases"),
    ("frank", Role.PARTNER_LIAISON, None, "Frank", "Ministry of Unification liaison"),
    ("grace", Role.AUDITOR, None, "Grace", "reads the audit trail"),
    ("heidi", Role.PRESS, None, "Heidi", "statistics and statements"),
]

MAIN: list[State] = list(MAIN_PATH[1:])
# Days between reaching the previous state and this one: (shortest, longest).
GAPS: dict[State, tuple[float, float]] = {
    S.VERIFYING: (0.2, 3),
    S.ACCEPTED: (1, 10),
    S.REFERRED: (2, 14),
    S.LEFT_WORKPLACE: (3, 30),
    S.IN_TRANSIT: (0.5, 5),
    S.IN_THIRD_COUNTRY: (2, 12),
    S.AWAITING_FLIGHT: (5, 30),
    S.ARRIVED: (7, 45),
    S.HANDED_OVER: (30, 90),
    S.CLOSED: (60, 200),
    S.DECLINED: (1, 10),
    S.DUPLICATE: (0.5, 3),
    S.WITHDRAWN: (2, 20),
    S.LOST_CONTACT: (3, 20),
    S.DETAINED: (1, 10),
    S.REPATRIATED: (10, 60),
    S.DECEASED: (1, 20),
}
# How likely each final state is, by how long ago the request arrived.
WEIGHTS_OLD = {  # more than a year ago
    S.CLOSED: 30,
    S.HANDED_OVER: 18,
    S.ARRIVED: 4,
    S.DECLINED: 12,
    S.DUPLICATE: 5,
    S.WITHDRAWN: 8,
    S.LOST_CONTACT: 6,
    S.DETAINED: 2,
    S.REPATRIATED: 2,
    S.DECEASED: 1,
}
WEIGHTS_MID = {  # three months to a year
    S.HANDED_OVER: 14,
    S.ARRIVED: 14,
    S.CLOSED: 6,
    S.AWAITING_FLIGHT: 4,
    S.IN_THIRD_COUNTRY: 4,
    S.REFERRED: 3,
    S.LOST_CONTACT: 8,
    S.DETAINED: 3,
    S.REPATRIATED: 1,
    S.DECLINED: 9,
    S.DUPLICATE: 3,
    S.WITHDRAWN: 6,
}
WEIGHTS_FRESH = {  # the last two weeks: mostly still in the intake inbox or being verified
    S.RECEIVED: 40,
    S.VERIFYING: 25,
    S.ACCEPTED: 10,
    S.DECLINED: 4,
    S.DUPLICATE: 4,
}
WEIGHTS_NEW = {  # two weeks to three months
    S.RECEIVED: 3,
    S.VERIFYING: 10,
    S.ACCEPTED: 12,
    S.REFERRED: 9,
    S.LEFT_WORKPLACE: 9,
    S.IN_TRANSIT: 10,
    S.IN_THIRD_COUNTRY: 6,
    S.AWAITING_FLIGHT: 5,
    S.ARRIVED: 3,
    S.DECLINED: 5,
    S.DUPLICATE: 3,
    S.WITHDRAWN: 2,
    S.LOST_CONTACT: 3,
    S.DETAINED: 2,
}
OCCUPATIONS = [
    ("restaurant_worker", 35),
    ("trader", 28),
    ("labourer", 15),
    ("official", 5),
    ("student", 3),
    ("soldier", 2),
    ("other", 8),
    ("unknown", 4),
]
MALE_SHARE = {
    "restaurant_worker": 0.1,
    "trader": 0.7,
    "labourer": 0.75,
    "official": 0.8,
    "soldier": 0.9,
    "student": 0.5,
    "other": 0.5,
    "unknown": 0.5,
}
BIRTH_YEARS = {
    "restaurant_worker": (1990, 2004),
    "trader": (1965, 1992),
    "labourer": (1970, 2000),
    "official": (1960, 1985),
    "soldier": (1995, 2005),
    "student": (1998, 2006),
}


@dataclass
class Branch:
    """Members (by index) who take ``path`` after the unit's common path."""

    members: list[int]
    path: list[State]


@dataclass
class Unit:
    """One request: its people, who brought it, and where each of them ends up."""

    size: int
    channel: str
    received_at: dt.datetime
    target: State
    common: list[State]
    branches: list[Branch] = field(default_factory=list)
    broker: str | None = None
    city: str = ""
    label: str = ""
    occupation: str | None = None
    people: list[PersonInput] = field(default_factory=list)
    urgency: int = Urgency.NORMAL
    owner: str | None = None
    note: dict[State, str] = field(default_factory=dict)
    exact: bool = False  # a special group whose path and places are fixed

    def finals(self) -> list[State]:
        if not self.branches:
            return [self.common[-1] if self.common else S.RECEIVED] * self.size
        result = [self.common[-1] if self.common else S.RECEIVED] * self.size
        for branch in self.branches:
            for i in branch.members:
                result[i] = branch.path[-1]
        return result


def _weighted(rng: random.Random, weights: dict[State, int]) -> State:
    states = list(weights)
    return rng.choices(states, weights=[weights[s] for s in states])[0]


def path_to(target: State, rng: random.Random) -> list[State]:
    """A valid sequence of states (after ``received``) that ends in ``target``."""
    if target == S.RECEIVED:
        return []
    if target in MAIN:
        path = MAIN[: MAIN.index(target) + 1]
        # Now and then news arrives late and a step is skipped (allowed on the way out).
        if target in (S.ARRIVED, S.HANDED_OVER, S.CLOSED) and rng.random() < 0.12:
            path = [s for s in path if s != S.IN_TRANSIT]
        # Contact lost for a while, then found again where it was lost.
        elif target in (S.ARRIVED, S.HANDED_OVER, S.CLOSED) and rng.random() < 0.08:
            i = path.index(S.IN_TRANSIT)
            path = [*path[: i + 1], S.LOST_CONTACT, *path[i:]]
        # Caught on the way, then released and carried on.
        elif target in (S.ARRIVED, S.HANDED_OVER, S.CLOSED) and rng.random() < 0.05:
            i = path.index(S.IN_THIRD_COUNTRY)
            path = [*path[:i], S.DETAINED, *path[i:]]
        return path
    if target == S.DECLINED:
        return rng.choice([[S.DECLINED], [S.VERIFYING, S.DECLINED]])
    if target == S.DUPLICATE:
        return rng.choice([[S.DUPLICATE], [S.VERIFYING, S.DUPLICATE]])
    if target == S.WITHDRAWN:
        stop = rng.choice([S.VERIFYING, S.ACCEPTED, S.REFERRED, S.LEFT_WORKPLACE])
        return [*MAIN[: MAIN.index(stop) + 1], S.WITHDRAWN]
    if target == S.LOST_CONTACT:
        stop = rng.choice(
            [S.VERIFYING, S.ACCEPTED, S.REFERRED, S.LEFT_WORKPLACE, S.IN_TRANSIT, S.IN_TRANSIT]
        )
        return [*MAIN[: MAIN.index(stop) + 1], S.LOST_CONTACT]
    if target == S.DETAINED:
        stop = rng.choice([S.LEFT_WORKPLACE, S.IN_TRANSIT, S.IN_TRANSIT, S.IN_THIRD_COUNTRY])
        return [*MAIN[: MAIN.index(stop) + 1], S.DETAINED]
    if target == S.REPATRIATED:
        return [*MAIN[: MAIN.index(S.IN_TRANSIT) + 1], S.DETAINED, S.REPATRIATED]
    if target == S.DECEASED:
        return [*MAIN[: MAIN.index(S.IN_TRANSIT) + 1], S.DECEASED]
    raise ValueError(target)


def _person(
    rng: random.Random, *, occupation: str | None = None, sex: str | None = None
) -> PersonInput:
    if occupation is None:
        occupation = rng.choices([o for o, _ in OCCUPATIONS], [w for _, w in OCCUPATIONS])[0]
    if sex is None:
        sex = "male" if rng.random() < MALE_SHARE[occupation] else "female"
    surname = rng.choice(data.SURNAMES)
    given = rng.choice(data.GIVEN_MALE if sex == "male" else data.GIVEN_FEMALE)
    style = rng.choices(["nk", "rr", "south"], [50, 25, 25])[0]
    if style == "nk":
        romanized = f"{surname[1]} {given[1]}"
    elif style == "rr":
        romanized = f"{surname[2]} {given[2]}"
    else:
        romanized = f"{surname[3]} {given[2].replace('-', '')}"
    hangul = surname[0] + given[0]
    aliases: list[str] = []
    if rng.random() < 0.3:
        aliases.append(rng.choice(data.CHINESE_ALIASES))
    if rng.random() < 0.15:
        aliases.append(f"{surname[3]} {given[1].replace('-', ' ')}")  # how a broker spelled it
    if rng.random() < 0.05:
        aliases.append(rng.choice(data.CODE_NAMES))
        if rng.random() < 0.5:  # only the code name is known so far
            hangul = romanized = ""
    low, high = BIRTH_YEARS.get(occupation, (1965, 2002))
    year = rng.randint(low, high)
    precision = rng.choices(["year", "month", "day", "unknown"], [60, 15, 15, 10])[0]
    birth = {
        "year": f"{year}",
        "month": f"{year}-{rng.randint(1, 12):02d}",
        "day": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "unknown": "",
    }[precision]
    return PersonInput(
        name_hangul=hangul,
        name_romanized=romanized,
        aliases=aliases,
        sex=sex if rng.random() > 0.03 else "unknown",
        birth_value=birth,
        birth_precision=precision,
        origin_region=rng.choice(data.ORIGIN_REGIONS) if rng.random() > 0.1 else "",
        occupation=occupation,
        own_words=rng.choice(data.OWN_WORDS) if rng.random() < 0.7 else "",
    )


def _received_at(rng: random.Random, now: dt.datetime) -> dt.datetime:
    """Since 1 January two years back (three years back early in the year): three calendar years.

    More requests in recent years (the trend the NGO reads), none in the last hours.
    """
    first_year = now.year - (3 if now.timetuple().tm_yday < 60 else 2)
    max_days = (now - now.replace(year=first_year, month=1, day=2)).days
    age = 0.1 + (max_days - 0.1) * rng.random() ** 1.6
    return now - dt.timedelta(days=age, minutes=rng.randint(0, 600))


def _target_for(rng: random.Random, received: dt.datetime, now: dt.datetime) -> State:
    age = (now - received).days
    if age > 365:
        return _weighted(rng, WEIGHTS_OLD)
    if age > 90:
        return _weighted(rng, WEIGHTS_MID)
    if age < 14:
        return _weighted(rng, WEIGHTS_FRESH)
    return _weighted(rng, WEIGHTS_NEW)


def _urgency(rng: random.Random, target: State) -> int:
    if target in (S.LEFT_WORKPLACE, S.IN_TRANSIT, S.IN_THIRD_COUNTRY, S.DETAINED):
        return rng.choice([3, 4, 4])
    if target in (S.RECEIVED, S.VERIFYING, S.ACCEPTED, S.REFERRED, S.AWAITING_FLIGHT):
        return rng.choice([2, 2, 3, 4])
    return rng.choice([1, 2, 2, 3])


def plan_units(*, cases: int, rng: random.Random, now: dt.datetime) -> list[Unit]:
    """Decide every request, its people and where each ends up; no database access."""
    broker_names = [b[0] for b in data.BROKERS]
    units: list[Unit] = []
    # The thirteen from Ningbo: out through Malaysia together, all in Seoul; ten files closed.
    ningbo = Unit(
        size=13,
        channel=Channel.BROKER,
        broker="닝보 연락책 (Ningbo contact)",
        received_at=now - dt.timedelta(days=2 * 365 + 40, hours=5),
        target=S.CLOSED,
        common=[
            S.VERIFYING,
            S.ACCEPTED,
            S.REFERRED,
            S.LEFT_WORKPLACE,
            S.IN_THIRD_COUNTRY,
            S.AWAITING_FLIGHT,
            S.ARRIVED,
            S.HANDED_OVER,
        ],
        branches=[Branch(members=list(range(10)), path=[S.CLOSED])],
        city="Ningbo",
        label="Ningbo thirteen (restaurant)",
        urgency=Urgency.CRITICAL,
        owner="bob",
        exact=True,
        note={S.IN_THIRD_COUNTRY: "Flew out together from Kuala Lumpur side; all thirteen safe."},
    )
    ningbo.people = [
        _person(rng, occupation="restaurant_worker", sex="female") for _ in range(12)
    ] + [_person(rng, occupation="official", sex="male")]
    units.append(ningbo)
    # The three from Shanxi who followed them: in Thailand, waiting for the flight.
    shanxi = Unit(
        size=3,
        channel=Channel.DIRECT_LINE,
        received_at=now - dt.timedelta(days=48, hours=3),
        target=S.AWAITING_FLIGHT,
        common=[
            S.VERIFYING,
            S.ACCEPTED,
            S.REFERRED,
            S.LEFT_WORKPLACE,
            S.IN_TRANSIT,
            S.IN_THIRD_COUNTRY,
            S.AWAITING_FLIGHT,
        ],
        city="Taiyuan, Shanxi",
        label="Shanxi three (said publicly: Shanghai)",
        urgency=Urgency.CRITICAL,
        owner="carol",
        exact=True,
        note={
            S.IN_THIRD_COUNTRY: "Press reported them as from Shanghai: the cover holds. "
            "Do not correct it before they land."
        },
    )
    shanxi.people = [_person(rng, occupation="restaurant_worker", sex="female") for _ in range(3)]
    units.append(shanxi)

    # Several small groups of two to five; one of them splits on the way.
    remaining = cases - 16
    n_groups = max(2, cases // 30)
    for g in range(n_groups):
        size = rng.randint(2, 5)
        if size > remaining - 1:
            break
        received = _received_at(rng, now)
        target = _target_for(rng, received, now)
        if target in (S.RECEIVED, S.DUPLICATE):
            target = S.VERIFYING
        unit = Unit(
            size=size,
            channel=Channel.BROKER if rng.random() < 0.75 else Channel.DIRECT_LINE,
            received_at=received,
            target=target,
            common=path_to(target, rng),
            city=rng.choice(data.WORKPLACES_CN),
        )
        if g == 0:  # split: one member is caught, the others go on to Thailand
            unit.received_at = now - dt.timedelta(days=rng.randint(60, 80))
            unit.common = MAIN[: MAIN.index(S.IN_TRANSIT) + 1]
            unit.target = S.IN_THIRD_COUNTRY
            unit.size = max(size, 3)
            unit.branches = [
                Branch(members=[0], path=[S.DETAINED]),
                Branch(members=list(range(1, unit.size)), path=[S.IN_THIRD_COUNTRY]),
            ]
        remaining -= unit.size
        units.append(unit)

    while remaining > 0:
        received = _received_at(rng, now)
        target = _target_for(rng, received, now)
        units.append(
            Unit(
                size=1,
                channel=rng.choices(
                    [Channel.DIRECT_LINE, Channel.BROKER, Channel.PARTNER, Channel.STAFF],
                    [45, 45, 6, 4],
                )[0],
                received_at=received,
                target=target,
                common=path_to(target, rng),
                city=rng.choice(data.WORKPLACES_CN),
            )
        )
        remaining -= 1
    _cover_every_state(units, rng, now)

    for unit in units:
        if unit.channel == Channel.BROKER and unit.broker is None:
            unit.broker = rng.choice(broker_names)
        if not unit.people:
            occupation = rng.choice(["restaurant_worker", "trader", "labourer", None])
            unit.people = [_person(rng, occupation=occupation) for _ in range(unit.size)]
        if not unit.label and unit.size > 1:
            unit.label = rng.choice(data.GROUP_LABELS).format(
                city=unit.city, origin=rng.choice(data.ORIGIN_REGIONS)
            )
        if not unit.exact:
            unit.urgency = _urgency(rng, unit.target)
        if unit.owner is None:
            if unit.target == S.RECEIVED and rng.random() < 0.6:
                unit.owner = None  # still in the intake inbox, nobody assigned
            else:
                unit.owner = rng.choices(["bob", "carol", "alice"], [42, 42, 16])[0]
    units.sort(key=lambda u: u.received_at)
    return units


def _cover_every_state(units: list[Unit], rng: random.Random, now: dt.datetime) -> None:
    """Make sure every journey state ends at least one case (on singles that can spare theirs)."""
    finals = Counter(s for u in units for s in u.finals())
    singles = [u for u in units if u.size == 1]
    rng.shuffle(singles)
    early = {S.RECEIVED, S.VERIFYING, S.ACCEPTED, S.REFERRED, S.LEFT_WORKPLACE, S.IN_TRANSIT}
    for state in State:
        if finals[state]:
            continue
        spare = [u for u in singles if finals[u.target] > 1]
        if not spare:
            break
        if state in early:  # a recent request, so the journey fits the time since
            spare.sort(key=lambda u: u.received_at, reverse=True)
        unit = spare[0]
        finals[unit.target] -= 1
        unit.target = state
        unit.common = path_to(state, rng)
        finals[state] += 1
        if state in early and (now - unit.received_at).days > 90:
            unit.received_at = now - dt.timedelta(days=rng.uniform(2, 60))


def _place(rng: random.Random, state: State, city: str, last: tuple[str, str]) -> tuple[str, str]:
    """(country, coarse region) where a case is when it reaches ``state``."""
    if state in (S.VERIFYING, S.ACCEPTED, S.REFERRED, S.LEFT_WORKPLACE):
        return "CN", city
    if state == S.IN_TRANSIT:
        return rng.choice(data.TRANSIT)
    if state in (S.IN_THIRD_COUNTRY, S.AWAITING_FLIGHT):
        return last if last[0] in ("TH", "MY") else rng.choice(data.THIRD_COUNTRY)
    if state in (S.ARRIVED, S.HANDED_OVER, S.CLOSED):
        return last if last[0] == "KR" else rng.choice(data.KOREA)
    if state == S.REPATRIATED:
        return "KP", "Sinuiju"
    return last  # declined, duplicate, withdrawn, lost contact, detained, deceased: where it was


def _source(rng: random.Random, state: State, channel: str) -> tuple[str, str]:
    told = Source.BROKER if channel == Channel.BROKER else Source.REQUESTER
    if state in (S.VERIFYING, S.ACCEPTED, S.REFERRED, S.HANDED_OVER, S.CLOSED, S.LOST_CONTACT):
        return Source.STAFF, Confidence.CONFIRMED
    if state in (S.DECLINED, S.DUPLICATE, S.WITHDRAWN):
        return Source.STAFF, Confidence.CONFIRMED
    if state in (S.ARRIVED, S.AWAITING_FLIGHT):
        return Source.PARTNER, Confidence.CONFIRMED
    if state == S.REPATRIATED:
        return Source.PRESS, Confidence.UNVERIFIED
    if state in (S.DETAINED, S.DECEASED):
        return rng.choice([(told, Confidence.LIKELY), (Source.PRESS, Confidence.UNVERIFIED)])
    return told, rng.choice([Confidence.LIKELY, Confidence.LIKELY, Confidence.UNVERIFIED])


def _times(
    rng: random.Random, start: dt.datetime, steps: list[State], end: dt.datetime
) -> list[dt.datetime]:
    """Increasing moments for ``steps`` after ``start``, squeezed to finish before ``end``."""
    gaps = [rng.uniform(*GAPS[s]) for s in steps]
    room = (end - start).total_seconds() / 86400
    total = sum(gaps)
    if total > room * 0.95 and total > 0:
        gaps = [g * room * 0.95 / total for g in gaps]
    moments, at = [], start
    for gap in gaps:
        at = at + dt.timedelta(days=gap)
        moments.append(at)
    return moments


class _Seeder:
    def __init__(self, *, ctx: KeyContext, rng: random.Random, now: dt.datetime, password: str):
        self.ctx, self.rng, self.now, self.password = ctx, rng, now, password
        self.users: dict[str, User] = {}
        self.brokers: dict[str, Broker] = {}
        self.partners: dict[str, Partner] = {}
        self.requests: list[Request] = []
        # case id -> (state reached, moment) for every step, to date consents and referrals.
        self.history: dict[Any, list[tuple[State, dt.datetime]]] = {}
        # case id -> (country, region) where it last was.
        self.where: dict[Any, tuple[str, str]] = {}

    def staff(self) -> None:
        teams = {
            name: Team.objects.get_or_create(name=name)[0] for name in (TEAM_NORTH, TEAM_SOUTH)
        }
        for username, role, team, first, _does in DEMO_USERS:
            self.users[username] = user_create(
                username=username,
                password=self.password,
                role=role,
                team=teams[team] if team else None,
                first_name=first,
                last_name="(demo)",
                chosen_by_them=True,  # demo logins: the printed password is theirs
                actor=self.users.get("erin"),
            )
            if username == "erin":
                for name, country in data.PARTNERS:
                    self.partners[name] = partner_create(
                        actor=self.users["alice"], name=name, country=country
                    )
        user_set_partner(
            actor=self.users["erin"],
            user=self.users["frank"],
            partner=self.partners["Ministry of Unification"],
        )
        for team_obj in teams.values():
            team_key_create(ctx=self.ctx, actor=self.users["alice"], team=team_obj)
        for partner in self.partners.values():
            team_key_create(ctx=self.ctx, actor=self.users["alice"], partner=partner)
        team_keys_share_pending(ctx=self.ctx, actor=self.users["alice"])

    def brokers_create(self) -> None:
        for alias, region, contact, fees, warnings in data.BROKERS:
            self.brokers[alias] = broker_create(
                ctx=self.ctx,
                actor=self.users[self.rng.choice(["dave", "bob", "carol"])],
                alias=alias,
                region=region,
                contact=contact,
                fee_notes=fees,
                warnings=warnings,
            )

    def _account(self, unit: Unit) -> str:
        template = self.rng.choice(
            data.ACCOUNTS_KO if self.rng.random() < 0.5 else data.ACCOUNTS_EN
        )
        return template.format(city=unit.city, n=unit.size)

    def unit(self, unit: Unit) -> None:
        rng = self.rng
        owner = self.users[unit.owner] if unit.owner else None
        recorder = self.users["dave"] if rng.random() < 0.7 or owner is None else owner
        request = request_create(
            ctx=self.ctx,
            actor=recorder,
            channel=unit.channel,
            people=unit.people,
            account=self._account(unit),
            urgency=unit.urgency,
            broker=self.brokers[unit.broker] if unit.broker else None,
            contact=rng.choice(["", "Signal via broker", "direct line, evenings", "email relay"]),
            received_at=unit.received_at,
            country="CN",
            group_label=unit.label,
            owner=owner,
        )
        self.requests.append(request)
        cases = list(request.cases.select_related("data_key").order_by("pk"))
        actor = (
            owner if owner is not None and owner.role == Role.CASEWORKER else self.users["alice"]
        )
        for case in cases:
            self.history[case.pk] = [(S.RECEIVED, unit.received_at)]
        if unit.common and unit.common[0] not in (S.DECLINED, S.DUPLICATE):
            request_triage(
                ctx=self.ctx,
                actor=self.users["dave"],
                request=request,
                expected_version=request.version,
                status=RequestStatus.TRIAGED,
            )
        last_time = self._walk(
            unit, cases, list(range(len(cases))), unit.common, actor, start=unit.received_at
        )
        for branch in unit.branches:
            self._walk(unit, cases, branch.members, branch.path, actor, start=last_time)
        final = unit.common[-1] if unit.common else None
        if final in (S.DECLINED, S.DUPLICATE):
            request.refresh_from_db()
            earlier = [r for r in self.requests[:-1] if r.status != RequestStatus.DUPLICATE]
            request_triage(
                ctx=self.ctx,
                actor=self.users["dave"],
                request=request,
                expected_version=request.version,
                status=RequestStatus.DECLINED if final == S.DECLINED else RequestStatus.DUPLICATE,
                duplicate_of=earlier[-1] if final == S.DUPLICATE and earlier else None,
            )

    def _walk(
        self,
        unit: Unit,
        cases: list[Case],
        members: list[int],
        path: list[State],
        actor: User,
        *,
        start: dt.datetime,
    ) -> dt.datetime:
        """Move ``members`` of the unit along ``path`` (together, if a group), dated in order."""
        if not path:
            return start
        rng = self.rng
        here = self.where.get(cases[members[0]].pk, ("CN", unit.city))
        moments = _times(rng, start, path, self.now - dt.timedelta(minutes=30))
        group = cases[0].group if len(members) > 1 else None
        chosen = [cases[i] for i in members]
        for state, at in zip(path, moments, strict=True):
            if (
                unit.exact
                and unit.city == "Ningbo"
                and state in (S.IN_THIRD_COUNTRY, S.AWAITING_FLIGHT)
            ):
                here = ("MY", "Kuala Lumpur")
            else:
                here = _place(rng, state, unit.city, here)
            source, confidence = _source(rng, state, unit.channel)
            exposed = state in (S.LEFT_WORKPLACE, S.IN_TRANSIT, S.IN_THIRD_COUNTRY, S.DETAINED)
            place = rng.choice(data.EXACT_PLACES) if exposed and rng.random() < 0.5 else ""
            note = unit.note.get(state, "")
            if not note and rng.random() < 0.15:
                note = rng.choice(data.NOTES)
            kwargs: dict[str, Any] = {
                "ctx": self.ctx,
                "actor": actor,
                "to_state": state,
                "occurred_at": at,
                "country": here[0],
                "region": here[1],
                "source": source,
                "confidence": confidence,
                "place": place,
                "note": note,
            }
            if group is not None:
                group_advance(
                    group=group, case_versions={c.pk: c.version for c in chosen}, **kwargs
                )
                chosen = list(
                    Case.objects.select_related("data_key", "group")
                    .filter(pk__in=[c.pk for c in chosen])
                    .order_by("pk")
                )
            else:
                for case in chosen:
                    journey_advance(case=case, expected_version=case.version, **kwargs)
            for case in chosen:
                self.history[case.pk].append((state, at))
                self.where[case.pk] = here
        for i, case in zip(members, chosen, strict=True):
            cases[i] = case
        return moments[-1]

    def follow_up(self) -> None:
        """Next contact dates (some overdue), notes, consents and referrals in every status."""
        rng = self.rng
        alice = self.users["alice"]
        # Cases still being worked on get a next-contact date (handed over: the partner's turn).
        active = {state for state in State if is_active(state)} - {S.HANDED_OVER}
        cases = list(Case.objects.select_related("data_key", "owner").order_by("opened_at", "pk"))
        for case in cases:
            if case.state in active and (case.owner_id or rng.random() < 0.5):
                overdue = rng.random() < 0.3
                due = self.now + (
                    -dt.timedelta(days=rng.uniform(0.5, 20))
                    if overdue
                    else dt.timedelta(days=rng.uniform(0.5, 14))
                )
                case_update(
                    ctx=self.ctx,
                    actor=alice,
                    case=case,
                    expected_version=case.version,
                    next_contact_due=due.replace(minute=0, second=0, microsecond=0),
                )
            if rng.random() < 0.3 and case.state != S.RECEIVED:
                author = case.owner if case.owner and case.owner.role != Role.INTAKE else alice
                for text in rng.sample(data.NOTES, rng.randint(1, 2)):
                    note_add(ctx=self.ctx, actor=author, case=case, text=text)
        self._referrals(cases)

    def _referrals(self, cases: list[Case]) -> None:
        rng = self.rng
        alice = self.users["alice"]
        ministry = self.partners["Ministry of Unification"]
        unhcr = self.partners["UN refugee agency liaison office, Bangkok"]
        nis = self.partners["National Intelligence Service (liaison desk)"]
        forced = [
            ReferralStatus.DRAFT,
            ReferralStatus.APPROVED,
            ReferralStatus.SENT,
            ReferralStatus.ACKNOWLEDGED,
            ReferralStatus.ACCEPTED,
            ReferralStatus.DECLINED,
            ReferralStatus.WITHDRAWN,
            ReferralStatus.SUBMITTED,
        ]
        referred_cases = [c for c in cases if S.REFERRED in {s for s, _ in self.history[c.pk]}]
        accepted_cases = [c for c in cases if c.state == S.ACCEPTED]
        revoked_done = False
        for i, case in enumerate(accepted_cases):
            if rng.random() < 0.5 or i < 2:
                status = ReferralStatus.DRAFT if i % 2 == 0 else ReferralStatus.APPROVED
                self._referral(case, ministry, Purpose.RELIEF, status, with_consent=i % 3 != 2)
        for i, case in enumerate(referred_cases):
            if i < 5:
                status = forced[2 + i]
            elif case.state in (S.REFERRED, S.LEFT_WORKPLACE):
                status = rng.choice([ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED])
            elif case.state == S.WITHDRAWN:
                status = ReferralStatus.WITHDRAWN
            else:
                status = rng.choices(
                    [ReferralStatus.ACCEPTED, ReferralStatus.ACKNOWLEDGED, ReferralStatus.DECLINED],
                    [80, 12, 8],
                )[0]
            partner = ministry if rng.random() < 0.85 else nis
            referral = self._referral(case, partner, Purpose.RELIEF, status, with_consent=True)
            if status == ReferralStatus.WITHDRAWN and not revoked_done and referral.consent:
                consent = referral.consent
                consent_revoke(
                    ctx=self.ctx, actor=alice, consent=consent, expected_version=consent.version
                )
                revoked_done = True
            if case.state in (S.IN_THIRD_COUNTRY, S.AWAITING_FLIGHT) and rng.random() < 0.5:
                self._referral(case, unhcr, Purpose.TRAVEL, ReferralStatus.ACKNOWLEDGED, True)
        # Every referral status shown at least once: resettlement referrals still in preparation.
        hanawon = self.partners["Hanawon settlement support centre"]
        seen = set(Referral.objects.values_list("status", flat=True))
        arrived = [c for c in cases if c.state in (S.ARRIVED, S.HANDED_OVER)] or referred_cases
        for status, case in zip([s for s in forced if s not in seen], arrived[::-1], strict=False):
            self._referral(case, hanawon, Purpose.RESETTLEMENT, status, with_consent=True)

    def _referral(
        self, case: Case, partner: Partner, purpose: str, status: str, with_consent: bool
    ) -> Referral:
        rng = self.rng
        alice, frank = self.users["alice"], self.users["frank"]
        actor = alice
        history = self.history[case.pk]
        accepted_at = next((at for s, at in history if s == S.ACCEPTED), history[-1][1])
        fields = ["name_hangul", "name_romanized", "birth", "sex", "current_country"]
        if rng.random() < 0.5:
            fields += ["origin_region", "occupation", "own_words"]
        consent = None
        if with_consent:
            consent = consent_record(
                ctx=self.ctx,
                actor=actor,
                case=case,
                partner=partner,
                purpose=purpose,
                fields=fields,
                method=rng.choice(
                    [ConsentMethod.OWN_WORDS, ConsentMethod.VIA_BROKER, ConsentMethod.VERBAL]
                ),
                words=rng.choice(data.CONSENT_WORDS),
                given_at=min(accepted_at + dt.timedelta(hours=rng.randint(2, 48)), self.now),
            )
        referral = referral_create(
            ctx=self.ctx,
            actor=actor,
            case=case,
            partner=partner,
            purpose=purpose,
            disclosed_fields=fields[: rng.randint(3, len(fields))],
            consent=consent,
            cover_note=rng.choice(["", "Urgent: exposed on the route.", "긴급: 이동 중."]),
        )
        steps = {
            ReferralStatus.DRAFT: [],
            ReferralStatus.SUBMITTED: ["submit"],
            ReferralStatus.APPROVED: ["approve"],
            ReferralStatus.SENT: ["approve", "send"],
            ReferralStatus.ACKNOWLEDGED: ["approve", "send", "ack"],
            ReferralStatus.ACCEPTED: ["approve", "send", "ack", "accepted"],
            ReferralStatus.DECLINED: ["approve", "send", "ack", "declined"],
            ReferralStatus.WITHDRAWN: ["approve", "send", "withdraw"],
        }[ReferralStatus(status)]
        responder = frank if partner.pk == frank.partner_id else alice
        for step in steps:
            v = referral.version
            if step == "submit":
                referral_submit(ctx=self.ctx, actor=actor, referral=referral, expected_version=v)
            elif step == "approve":
                referral_approve(ctx=self.ctx, actor=alice, referral=referral, expected_version=v)
            elif step == "send":
                referral_send(ctx=self.ctx, actor=actor, referral=referral, expected_version=v)
            elif step == "withdraw":
                referral_withdraw(ctx=self.ctx, actor=actor, referral=referral, expected_version=v)
            else:
                referral_respond(
                    ctx=self.ctx,
                    actor=responder,
                    referral=referral,
                    expected_version=v,
                    status=ReferralStatus.ACKNOWLEDGED if step == "ack" else step,
                )
        return referral

    def press(self) -> None:
        """Cover values for a group that arrived and for one still on the way, and statements
        about each: one released, one drafted (which the gate keeps from approval)."""
        from haven.cases.journey import SAFE
        from haven.disclosure import facts
        from haven.disclosure.services import (
            CoverInput,
            cover_set,
            statement_approve,
            statement_create,
            statement_release,
            statement_submit,
        )

        alice, heidi = self.users["alice"], self.users["heidi"]
        safe_group = waiting_group = None
        for group in Group.objects.order_by("created_at", "pk"):
            states = set(group.cases.values_list("state", flat=True))
            if states and states <= set(SAFE) and safe_group is None:
                safe_group = group
            elif states and not states & set(SAFE) and waiting_group is None:
                waiting_group = group
        fields = {
            "name": CoverInput(
                mode=facts.COVER, values={"en": "a group of workers", "ko": "근로자들"}
            ),
            "count": CoverInput(mode=facts.ROUNDED, reason="Demo: the exact number stays inside."),
            "origin": CoverInput(
                mode=facts.COVER, values={"en": "Shanghai", "ko": "상하이", "zh": "上海"}
            ),
            "now": CoverInput(mode=facts.COVER, values={"en": "South Korea", "ko": "한국"}),
        }
        text = {
            "en": "[[A.count]] North Korean workers from [[A.origin]] are now safe in [[A.now]].",
            "ko": "[[A.origin]]에서 일하던 북한 근로자 [[A.count]]명이 [[A.now]]에 안전하게 도착했습니다.",
        }
        for chosen, label, release in (
            (safe_group, "Spring group", True),
            (waiting_group, "Autumn group", False),
        ):
            if chosen is None:
                continue
            try:
                cover = cover_set(
                    ctx=self.ctx, actor=alice, group=chosen, label=label, fields=fields
                )
                statement = statement_create(
                    ctx=self.ctx,
                    actor=heidi,
                    title="Workers reach safety" if release else "Draft: workers on the way",
                    texts=text,
                    subjects={"A": str(cover.pk)},
                )
                statement_submit(ctx=self.ctx, actor=heidi, statement=statement, expected_version=1)
                if release:
                    statement_approve(
                        ctx=self.ctx, actor=alice, statement=statement, expected_version=2
                    )
                    statement_release(
                        ctx=self.ctx, actor=heidi, statement=statement, expected_version=3
                    )
            except ValidationError:
                continue  # a demo cover value that happens to be someone's true value: skip it

    def finish(self) -> None:
        name = data.SUSPENDED_BROKER
        broker = self.brokers[name]
        broker_set_status(
            ctx=self.ctx,
            actor=self.users["alice"],
            broker=broker,
            expected_version=broker.version,
            status=BrokerStatus.SUSPENDED,
        )


def demo_seed(
    *, cases: int, seed: int, now: dt.datetime, password: str | None = None
) -> DemoSummary:
    """Create the demo organisation in one transaction and return its logins and counts.

    The same ``seed`` gives the same people, requests and journeys; the password is random per
    run unless given. Call only on an empty database (the command checks).
    """
    if cases < MIN_CASES:
        raise ValueError(f"The demo needs at least {MIN_CASES} cases to show every journey state.")
    started = time.monotonic()
    password = password or "demo-" + secrets.token_urlsafe(12)
    rng = random.Random(seed)  # nosec B311  # seeded on purpose: reproducible demo data
    units = plan_units(cases=cases, rng=rng, now=now)
    with transaction.atomic():
        setup = org_keys_setup()
        seeder = _Seeder(ctx=setup.ctx, rng=rng, now=now, password=password)
        seeder.staff()
        seeder.brokers_create()
        for unit in units:
            seeder.unit(unit)
        seeder.follow_up()
        seeder.press()
        seeder.finish()
    states = Counter(Case.objects.values_list("state", flat=True))
    logins = [
        DemoLogin(username=u, role=str(Role(r).label), team=t or "", does=does)
        for u, r, t, _first, does in DEMO_USERS
    ]
    return DemoSummary(
        password=password,
        recovery_words=setup.recovery_words,
        logins=logins,
        counts={
            "requests": Request.objects.count(),
            "cases": Case.objects.count(),
            "groups": Group.objects.count(),
            "journey events": JourneyEvent.objects.count(),
            "brokers": Broker.objects.count(),
            "partners": Partner.objects.count(),
            "referrals": Referral.objects.count(),
        },
        states={s.value: states.get(s.value, 0) for s in State},
        seconds=time.monotonic() - started,
    )
