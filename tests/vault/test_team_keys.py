"""Team keys: joining waits for a holder, leaving takes the key away, replacing it shuts out copies."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from haven.accounts.models import Role
from haven.accounts.services import user_update
from haven.audit.models import AuditEntry
from haven.cases.models import Case
from haven.crypto import MissingKeyError
from haven.vault.holders import pending_shares
from haven.vault.models import Grant, KeyShare, TeamKey
from haven.vault.sealed import payload_read
from haven.vault.services import team_key_rotate, team_keys_share_pending
from tests.factories import UserFactory, ctx_for, make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def ivan(org, team_a):
    """A second caseworker in team A."""
    user = UserFactory(username="ivan", role=Role.CASEWORKER, team=team_a)
    team_keys_share_pending(ctx=org.ctx, actor=None)
    return user


def _case(pk) -> Case:
    return Case.objects.select_related("data_key").get(pk=pk)


def test_leaving_a_team_takes_its_key_away_and_marks_it_for_replacement(
    ctx, alice, bob, ivan, erin, team_a, team_b
):
    teammates = make_case(ctx=ctx, actor=alice, owner=ivan)
    assert payload_read(ctx=ctx_for(bob), record=_case(teammates.pk))

    user_update(actor=erin, user=bob, team=team_b)

    with pytest.raises(MissingKeyError):
        payload_read(ctx=ctx_for(bob), record=_case(teammates.pk))
    assert TeamKey.objects.get(team=team_a, active=True).rotation_due
    waiting = [key.team_id for person, key in pending_shares(bob)]
    assert waiting == [team_b.pk]  # the new team's key waits for a holder to share it
    entry = AuditEntry.objects.filter(action="user.update").latest("seq")
    assert entry.detail["keys_removed"] == 1


def test_a_replaced_team_key_keeps_old_cases_open_and_shuts_out_a_kept_copy(
    ctx, alice, bob, ivan, erin, team_a, team_b
):
    before = make_case(ctx=ctx, actor=alice, owner=ivan)
    kept = ctx_for(bob)
    payload_read(ctx=kept, record=_case(before.pk))  # bob's context now holds team A's key
    user_update(actor=erin, user=bob, team=team_b)
    old = TeamKey.objects.get(team=team_a, active=True)

    successor = team_key_rotate(ctx=ctx_for(alice), actor=alice, team_key=old)
    after = make_case(ctx=ctx_for(alice), actor=alice, owner=ivan)

    assert not TeamKey.objects.get(pk=old.pk).active and successor.active
    assert Grant.objects.filter(data_key_id=after.data_key_id, team_key=successor).exists()
    ivan_ctx = ctx_for(ivan)
    assert payload_read(ctx=ivan_ctx, record=_case(before.pk))  # through the old generation
    assert payload_read(ctx=ivan_ctx, record=_case(after.pk))
    # The copy bob kept opens what it opened before, and nothing sealed after he left.
    grant = Grant.objects.get(data_key_id=after.data_key_id, team_key=successor)
    with pytest.raises(MissingKeyError):
        kept.data_key_unlock(
            str(after.data_key_id),
            holder=successor.ref,
            sealed=grant.sealed,
            slot=grant.data_key.erasure_slot,
        )
    assert not Grant.objects.filter(data_key_id=after.data_key_id, team_key=old).exists()
    assert not KeyShare.objects.filter(team_key=old, user__isnull=False).exists()


def test_only_a_holder_replaces_a_team_key(ctx, alice, bob, erin, team_a):
    key = TeamKey.objects.get(team=team_a, active=True)

    with pytest.raises(PermissionDenied):
        team_key_rotate(ctx=ctx_for(erin), actor=erin, team_key=key)
    assert TeamKey.objects.get(pk=key.pk).active


def test_nobody_changes_their_own_role_and_only_administrators_change_others(alice, bob, erin):
    with pytest.raises(PermissionDenied):
        user_update(actor=erin, user=erin, role=Role.SUPERVISOR)
    with pytest.raises(PermissionDenied):
        user_update(actor=alice, user=bob, role=Role.SUPERVISOR)
    with pytest.raises(ValidationError, match="Unknown role"):
        user_update(actor=erin, user=bob, role="overlord")
    bob.refresh_from_db()
    erin.refresh_from_db()
    assert bob.role == Role.CASEWORKER and erin.role == Role.ADMIN
    assert KeyShare.objects.filter(user=bob).count() == 2


def test_a_deactivated_person_holds_no_team_key(ctx, alice, bob, erin):
    user_update(actor=erin, user=bob, is_active=False)

    assert not KeyShare.objects.filter(user=bob).exists()
    assert TeamKey.objects.filter(rotation_due=True, active=True).count() == 2
