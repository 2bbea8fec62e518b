"""Reads of the duplicate tables: who shares a block with whom."""

from __future__ import annotations

import pytest

from haven.dedupe import selectors
from haven.dedupe.models import BlockToken
from haven.dedupe.selectors import block_partners
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(ctx, alice):
    found = [make_case(ctx=ctx, actor=alice).person_id for _ in range(6)]
    BlockToken.objects.all().delete()
    return [str(p) for p in found]


def _blocks(members: dict[int, list[str]]) -> None:
    BlockToken.objects.bulk_create(
        BlockToken(person_id=p, token=token) for token, ps in members.items() for p in ps
    )


def test_partners_are_those_sharing_a_block_and_a_block_too_large_says_nothing(people, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_BLOCK", 3)
    p0, p1, p2, p3, p4, p5 = people
    _blocks({11: [p0, p1, p2], 22: [p0, p3, p4, p5], 33: [p3, p4]})

    assert set(block_partners(person_id=p0, limit=200)) == {p1, p2}
    assert set(block_partners(person_id=p3, limit=200)) == {p4}  # only the small block
    assert block_partners(person_id=p5, limit=200) == []


def test_partners_stop_at_the_limit(people, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_BLOCK", 10)
    p0, *others = people
    _blocks({7: [p0, *others]})

    found = block_partners(person_id=p0, limit=2)
    assert len(found) == 2 and set(found) <= set(others)
