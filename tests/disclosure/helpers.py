"""Shared set-up for the disclosure tests: a group of three (the story's restaurant workers from
Shanxi) moved along the journey, cover records and statements."""

from __future__ import annotations

from typing import Any

from haven.cases.journey import State
from haven.cases.models import Case, Channel, Group
from haven.cases.services import PersonInput, group_advance, request_create
from haven.disclosure import facts
from haven.disclosure.services import CoverInput

THREE = [
    PersonInput(
        name_hangul="김선희",
        name_romanized="Kim Sun-hui",
        aliases=["Jin Meihua"],
        sex="female",
        birth_value="1994-03-17",
        birth_precision="day",
        origin_region="Shanxi",
        occupation="restaurant_worker",
    ),
    PersonInput(
        name_hangul="리영호",
        name_romanized="Ri Yong-ho",
        sex="male",
        birth_value="1991",
        birth_precision="year",
        origin_region="Shanxi",
        occupation="restaurant_worker",
    ),
    PersonInput(
        name_hangul="박정민",
        name_romanized="Pak Jong-min",
        sex="female",
        birth_value="1996",
        birth_precision="year",
        origin_region="Shanxi",
        occupation="restaurant_worker",
    ),
]

# Up to waiting for a flight in Thailand, then arrived in Seoul.
TO_THAILAND = [
    (State.VERIFYING, "CN", ""),
    (State.ACCEPTED, "CN", ""),
    (State.REFERRED, "CN", ""),
    (State.LEFT_WORKPLACE, "CN", "Taiyuan"),
    (State.IN_TRANSIT, "LA", "Luang Namtha"),
    (State.IN_THIRD_COUNTRY, "TH", "Chiang Rai"),
    (State.AWAITING_FLIGHT, "TH", "Bangkok"),
]


def make_group(
    ctx: Any, actor: Any, people: list[PersonInput] | None = None, **kwargs: Any
) -> Group:
    request = request_create(
        ctx=ctx,
        actor=actor,
        channel=Channel.STAFF,
        account="Three of us work in a restaurant and want to leave.",
        people=list(people or THREE),
        group_label=kwargs.pop("group_label", "Taiyuan restaurant three"),
        **kwargs,
    )
    case = request.cases.first()
    assert case is not None and case.group is not None
    return case.group


def advance(ctx: Any, actor: Any, group: Group, steps: list[tuple[str, str, str]]) -> None:
    for state, country, region in steps:
        members = list(Case.objects.filter(group=group))
        group_advance(
            ctx=ctx,
            actor=actor,
            group=group,
            case_versions={c.pk: c.version for c in members},
            to_state=state,
            country=country,
            region=region,
        )


def arrive(ctx: Any, actor: Any, group: Group) -> None:
    advance(ctx, actor, group, [(State.ARRIVED, "KR", "Seoul")])


def cover(mode: str = facts.COVER, reason: str = "", **values: str) -> CoverInput:
    return CoverInput(mode=mode, values=values, reason=reason)


def group_fields(*, arrived: bool) -> dict[str, CoverInput]:
    fields = {
        "name": cover(en="a group of restaurant workers", ko="식당 종업원들"),
        "count": cover(facts.TRUE, reason="They agreed; the number is public anyway."),
        "origin": cover(en="Shanghai", ko="상하이", zh="上海"),
        "occupation": cover(facts.TRUE, reason="Common to thousands of workers."),
    }
    if arrived:
        fields["now"] = cover(facts.TRUE, reason="They landed; the ministry confirmed it.")
        fields["arrived"] = cover(facts.MONTH, reason="The month is enough.")
    return fields


STATEMENT_EN = (
    "[[A.count]] North Korean [[A.occupation]]s from [[A.origin]] arrived in [[A.now]] "
    "in [[A.arrived]]. We ask the press to respect their privacy."
)
STATEMENT_KO = (
    "[[A.origin]] 출신 [[A.occupation]] [[A.count]]명이 [[A.arrived]] [[A.now]]에 도착했습니다."
)
