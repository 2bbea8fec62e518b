"""Statistics fixtures: the story's requests, spread over two years."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.utils import timezone

from haven.accounts.models import Role
from haven.cases.models import Channel
from haven.cases.services import PersonInput, request_create
from tests.factories import UserFactory, ctx_for, make_broker

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
OCCUPATIONS = ["restaurant_worker"] * 5 + ["trader"] * 3 + ["labourer", "official"]


def story_years(today: dt.date | None = None) -> tuple[int, int]:
    """ "Last year" and "this year", with at least six closed months in "this year"."""
    today = today or timezone.localdate()
    this = today.year if today.month >= 7 else today.year - 1
    return this - 1, this


def seed_story(*, ctx: Any, actor: Any, last: int = 30, this: int = 20) -> list[Any]:
    """About 30 requests last year and 20 this year (first half), through a broker or the direct
    line, each for one person of some occupation."""
    last_year, this_year = story_years()
    broker = make_broker(ctx=ctx, actor=actor)
    made = []
    for year, count, months in ((last_year, last, 12), (this_year, this, 6)):
        for i in range(count):
            received = dt.datetime(year, 1 + (i * 7) % months, 1 + i % 27, 10, tzinfo=SEOUL)
            channel = Channel.BROKER if i % 3 else Channel.DIRECT_LINE
            made.append(
                request_create(
                    ctx=ctx,
                    actor=actor,
                    channel=channel,
                    broker=broker if channel == Channel.BROKER else None,
                    account="We want to leave.",
                    received_at=received,
                    people=[
                        PersonInput(
                            name_hangul=f"김{i}",
                            sex="female" if i % 4 else "male",
                            birth_value=str(1980 + i % 20),
                            birth_precision="year",
                            origin_region=["Sinuiju", "청진", "Hyesan"][i % 3],
                            occupation=OCCUPATIONS[i % len(OCCUPATIONS)],
                        )
                    ],
                )
            )
    return made


@pytest.fixture
def ivan(org, team_a):
    """A second supervisor: approves what alice prepares."""
    from tests.conftest import _equip

    return _equip(org, UserFactory(username="ivan", role=Role.SUPERVISOR, team=team_a))


@pytest.fixture
def heidi_ctx(heidi):
    return ctx_for(heidi)
