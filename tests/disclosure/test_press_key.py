"""The press office's key: made at setup (or on first need for an older organisation), shared with
press officers on the Keys page like the other team keys, held by supervisors through theirs, and
replaced when a press officer leaves without losing the statements sealed to it."""

from __future__ import annotations

import pytest

from haven.accounts.models import Role
from haven.accounts.services import user_update
from haven.disclosure.services import statement_create
from haven.vault import holders as h
from haven.vault.models import KeyShare, TeamKey, TeamKeyKind
from haven.vault.sealed import payload_read
from haven.vault.services import key_shares_sync, press_key_ensure, team_key_rotate
from tests.disclosure.helpers import cover, make_group
from tests.factories import UserFactory, ctx_for

pytestmark = pytest.mark.django_db


def test_setup_makes_the_press_key_and_supervisors_hold_it_through_theirs(
    org, alice, heidi
) -> None:
    press = TeamKey.objects.get(kind=TeamKeyKind.PRESS, active=True)
    supervisors = h.system_key(TeamKeyKind.SUPERVISORS)
    assert KeyShare.objects.filter(team_key=press, via_key=supervisors).exists()
    assert str(press.pk) in h.held_team_key_ids(alice)
    assert KeyShare.objects.filter(team_key=press, user=heidi).exists()
    assert press.ref in ctx_for(alice).holder_refs() and press.ref in ctx_for(heidi).holder_refs()


def test_a_new_press_officer_waits_on_the_keys_page_until_a_supervisor_shares_it(
    org, alice
) -> None:
    newcomer = UserFactory(username="ivan", role=Role.PRESS)
    # The press office's key, and the statistics key beside it (haven.stats).
    assert sorted((u.username, k.kind) for u, k in h.pending_shares(newcomer)) == [
        ("ivan", "press"),
        ("ivan", "statistics"),
    ]
    from haven.vault.services import team_keys_share_pending

    team_keys_share_pending(ctx=ctx_for(alice), actor=alice)
    assert h.pending_shares(newcomer) == []


def test_an_older_organisation_gets_the_press_key_on_first_need(org, alice) -> None:
    TeamKey.objects.filter(kind=TeamKeyKind.PRESS).delete()
    made = press_key_ensure(actor=alice)
    assert made is not None and made.kind == TeamKeyKind.PRESS
    assert press_key_ensure(actor=alice) == made
    assert str(made.pk) in h.held_team_key_ids(alice)


def test_a_press_officer_who_leaves_forces_a_new_key_and_loses_nothing_for_the_others(
    ctx, alice, heidi, erin
) -> None:
    other = UserFactory(username="ivan", role=Role.PRESS)
    from haven.vault.services import team_keys_share_pending

    team_keys_share_pending(ctx=ctx, actor=alice)
    group = make_group(ctx, alice)
    from haven.disclosure.services import cover_set

    made = cover_set(
        ctx=ctx, actor=alice, group=group, label="G", fields={"origin": cover(en="Dalian")}
    )
    statement = statement_create(
        ctx=ctx_for(heidi),
        actor=heidi,
        title="T",
        texts={"en": "[[A.origin]]"},
        subjects={"A": str(made.pk)},
    )
    user_update(actor=erin, user=heidi, role=Role.CASEWORKER)
    key_shares_sync(actor=erin, user=heidi)
    old = TeamKey.objects.get(kind=TeamKeyKind.PRESS, active=True)
    assert old.rotation_due
    team_key_rotate(ctx=ctx_for(alice), actor=alice, team_key=old)
    new = TeamKey.objects.get(kind=TeamKeyKind.PRESS, active=True)
    assert new.pk != old.pk
    # The remaining press officer still reads what was sealed to the old generation.
    assert payload_read(ctx=ctx_for(other), record=statement)["title"] == "T"
    assert not KeyShare.objects.filter(user=heidi).filter(team_key__kind=TeamKeyKind.PRESS).exists()
