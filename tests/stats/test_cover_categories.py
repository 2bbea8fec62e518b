"""Statistics count a covered person under the cover's categories, never the true ones (issue
15, item 2: cover values are used where a category would otherwise be the true one)."""

from __future__ import annotations

import pytest

from haven.cases.journey import State
from haven.cases.services import PersonInput, journey_advance, person_update
from haven.disclosure.services import CoverInput, cover_set
from haven.stats import selectors
from haven.stats.models import CaseFacts, CoverCategories
from haven.stats.store import COLUMN, VOCABULARY
from tests.factories import ctx_for, make_case

pytestmark = pytest.mark.django_db


def _counted(heidi_ctx, case) -> tuple[str, str]:
    """The province and occupation the statistics count ``case`` under, as the press officer's
    load reads them."""
    loaded = selectors.facts_load(ctx=heidi_ctx)
    row_id = CaseFacts.objects.get(case=case).pk
    row = loaded.matrix.data[list(loaded.matrix.ids).index(row_id)]
    return (
        VOCABULARY["pr"][row[COLUMN["pr"]]],
        VOCABULARY["oc"][row[COLUMN["oc"]]],
    )


def test_a_cover_record_moves_the_person_to_the_covers_categories_for_good(
    ctx, alice, bob, heidi_ctx
) -> None:
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    person_update(
        ctx=ctx,
        actor=alice,
        case=case,
        expected_version=case.person.version,
        person=PersonInput(name_hangul="김선희", origin_region="혜산", occupation="식당 종업원"),
    )
    case.refresh_from_db()
    assert _counted(heidi_ctx, case) == ("KP-10", "restaurant_worker")  # the truth, before

    cover_set(
        ctx=ctx,
        actor=alice,
        case=case,
        label="A",
        fields={
            "origin": CoverInput(mode="cover", values={"en": "Pyongyang"}),
            "occupation": CoverInput(mode="cover", values={"en": "trader"}),
        },
    )

    assert _counted(heidi_ctx, case) == ("KP-01", "trader")
    # A caseworker's later work rewrites the facts (without reading the cover): still covered.
    journey_advance(
        ctx=ctx_for(bob),
        actor=bob,
        case=case,
        to_state=State.VERIFYING,
        expected_version=case.version,
    )
    assert _counted(heidi_ctx, case) == ("KP-01", "trader")
    # The cover's link is sealed to the statistics key: its writer's colleagues cannot read it.
    cover = CoverCategories.objects.get(case=case)
    with pytest.raises(Exception):  # noqa: B017 - any refusal: bob holds no statistics key
        ctx_for(bob).facts_open(f"t:{cover.team_key_id}", bytes(cover.sealed))


def test_a_cover_origin_that_is_no_province_counts_as_not_known(ctx, alice, heidi_ctx) -> None:
    """Shanghai for the true Shanxi (the story): not a North Korean province, so the origin
    table shows the person as "province not known", never where they really came from."""
    case = make_case(ctx=ctx, actor=alice)  # origin Sinuiju: North Pyongan
    assert _counted(heidi_ctx, case)[0] == "KP-03"

    cover_set(
        ctx=ctx,
        actor=alice,
        case=case,
        label="B",
        fields={"origin": CoverInput(mode="cover", values={"en": "Shanghai"})},
    )

    province, occupation = _counted(heidi_ctx, case)
    assert province not in ("KP-03",) and province == VOCABULARY["pr"][-1]
    assert occupation == "restaurant_worker"  # a field without a cover value stays as it was
