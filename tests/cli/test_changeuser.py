"""`haven changeuser`: role, team and access changes take team keys away at once."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from haven.accounts.models import Role
from haven.vault.models import KeyShare

pytestmark = pytest.mark.django_db


def test_moving_someone_to_another_team_takes_the_old_key(capsys, bob, team_b):
    call_command("changeuser", "bob", "--team", "Team B")

    assert "team Team B" in capsys.readouterr().out
    assert not KeyShare.objects.filter(user=bob, team_key__team__name="Team A").exists()


def test_deactivating_takes_every_team_key(bob):
    call_command("changeuser", "bob", "--deactivate")

    bob.refresh_from_db()
    assert not bob.is_active and not KeyShare.objects.filter(user=bob).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "--role", "caseworker"], "No staff member named 'nobody'"),
        (["bob", "--team", "Team Z"], "No team named 'Team Z'"),
        (["bob", "--role", "king"], "Unknown role"),
    ],
)
def test_bad_changes_are_clear_errors_and_change_nothing(bob, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("changeuser", *args)
    bob.refresh_from_db()
    assert bob.role == Role.CASEWORKER and bob.team.name == "Team A"
    assert KeyShare.objects.filter(user=bob).count() == 2
