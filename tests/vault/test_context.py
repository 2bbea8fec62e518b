"""The acting person's key context, as views and commands build it."""

from __future__ import annotations

import pytest

from haven.accounts.models import User
from haven.vault.holders import held_team_key_ids, team_key
from tests.factories import ctx_for

pytestmark = pytest.mark.django_db


def test_a_key_context_remembers_the_team_keys_need_to_know_reads(alice, bob, carol):
    # context_for works the held team keys out from the shares it reads for the keys
    # themselves; the lists' need-to-know filter then uses them without reading again.
    for person in (alice, bob, carol):
        expected = held_team_key_ids(User.objects.get(pk=person.pk))
        other = User.objects.get(pk=person.pk)
        ctx_for(other)
        assert other._haven_team_keys == frozenset(expected), person.username
    # A supervisor reaches each team's key through the supervisors' key (a chained share).
    supervisor = User.objects.get(pk=alice.pk)
    ctx_for(supervisor)
    assert {str(team_key(bob.team).pk), str(team_key(carol.team).pk)} <= set(
        held_team_key_ids(supervisor)
    )
    assert str(team_key(carol.team).pk) not in held_team_key_ids(User.objects.get(pk=bob.pk))
