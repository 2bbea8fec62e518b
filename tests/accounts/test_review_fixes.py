"""Fixes from the key-custody review: leavers, revocation that would lie, resets mid-login,
administrator-chosen passwords."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from haven.accounts.models import Role
from haven.accounts.services import user_create, user_password_reset, user_update
from haven.cases.models import Case
from haven.cases.services import case_revoke
from haven.vault.models import Grant, KeyShare, TeamKey
from haven.vault.sealed import data_keys_unlock, payload_read
from haven.vault.services import team_key_rotate, team_key_share
from tests.factories import PASSWORD, UserFactory, ctx_for, login, make_case, totp_code

pytestmark = pytest.mark.django_db


def test_a_departing_supervisor_leaves_every_key_they_reached_due_for_replacement(
    org, ctx, alice, bob, erin, team_a
):
    second = UserFactory(username="judy", role=Role.SUPERVISOR)
    from haven.vault.services import team_keys_share_pending

    team_keys_share_pending(ctx=org.ctx, actor=None)
    kept = ctx_for(alice)  # alice's keys, as she might keep them
    team = TeamKey.objects.get(team=team_a, active=True)

    user_update(actor=erin, user=alice, is_active=False)

    assert TeamKey.objects.get(pk=team.pk).rotation_due  # reached through the supervisors' key
    supervisors = TeamKey.objects.get(kind="supervisors", active=True)
    due = list(TeamKey.objects.filter(rotation_due=True, active=True))
    # The statistics key too: she reached it through the supervisors' key.
    assert {key.kind for key in due} == {
        "intake",
        "supervisors",
        "staff",
        "team",
        "statistics",
        "press",
    }
    for key in due:  # as the remaining supervisor does on the Keys page
        team_key_rotate(ctx=ctx_for(second), actor=second, team_key=key)
    later = make_case(ctx=ctx_for(second), actor=second, owner=bob)
    # What alice kept opens nothing sealed after she left, even with a fresh copy of the database.
    data_keys_unlock(ctx=kept, key_ids=[later.data_key_id])
    assert not kept.has_data_key(str(later.data_key_id))
    assert not KeyShare.objects.filter(via_key=supervisors).exclude(team_key=supervisors).exists()
    assert payload_read(ctx=ctx_for(bob), record=Case.objects.get(pk=later.pk))


def test_revoking_someone_who_keeps_the_case_through_a_team_key_is_refused(ctx, alice, bob):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    grants = sorted(Grant.objects.values_list("pk", flat=True))

    with pytest.raises(ValidationError, match="still holds this case through a team key"):
        case_revoke(ctx=ctx, actor=alice, case=case, holder=bob)
    assert sorted(Grant.objects.values_list("pk", flat=True)) == grants


def test_revoking_one_case_of_a_group_keeps_the_request_key_for_the_others(ctx, alice, carol, dave):
    from tests.factories import make_request

    request = make_request(ctx=ctx, actor=dave, people=2)
    one, two = request.cases.order_by("pk")
    from haven.cases.services import case_grant

    case_grant(ctx=ctx, actor=alice, case=one, holder=carol)
    case_grant(ctx=ctx, actor=alice, case=two, holder=carol)

    case_revoke(ctx=ctx, actor=alice, case=one, holder=carol)

    assert Grant.objects.filter(user=carol, data_key_id=request.data_key_id).exists()
    assert not Grant.objects.filter(user=carol, data_key_id=one.data_key_id).exists()


def test_a_reset_ends_a_login_half_way_through_too(client, bob, erin):
    totp_code(bob)
    client.post(reverse("web:login"), {"username": "bob", "password": PASSWORD})
    assert Session.objects.count() == 1

    user_password_reset(actor=erin, user=bob, new_password="a new long passphrase 11")

    assert not Session.objects.exists()
    assert client.get(reverse("web:login_two_factor")).status_code == 302


def test_an_administrator_chosen_password_must_be_replaced_before_keys_are_shared(
    client, org, alice, erin, team_a
):
    newcomer = user_create(
        username="ivan",
        password="an admin chosen passphrase 1",
        role=Role.CASEWORKER,
        team=team_a,
        actor=erin,
    )
    staff = TeamKey.objects.get(kind="staff", active=True)
    with pytest.raises(ValidationError, match="choose their own"):
        team_key_share(ctx=ctx_for(alice), actor=alice, team_key=staff, user=newcomer)

    login(client, newcomer, "an admin chosen passphrase 1")
    response = client.get(reverse("web:cases"))
    assert response.status_code == 302 and response["Location"] == reverse("web:password_change")
    new = "my very own passphrase 22"
    client.post(
        reverse("web:password_change"),
        {
            "old_password": "an admin chosen passphrase 1",
            "new_password": new,
            "new_password_again": new,
        },
    )
    newcomer.refresh_from_db()
    assert not newcomer.password_change_required
    team_key_share(ctx=ctx_for(alice), actor=alice, team_key=staff, user=newcomer)


def test_wrong_current_passwords_on_the_change_page_count_towards_the_lockout(client, bob):
    login(client, bob)
    for _ in range(6):
        client.post(
            reverse("web:password_change"),
            {"old_password": "guess", "new_password": "x" * 20, "new_password_again": "x" * 20},
        )

    response = client.post(
        reverse("web:password_change"),
        {
            "old_password": PASSWORD,
            "new_password": "y" * 20 + "z",
            "new_password_again": "y" * 20 + "z",
        },
    )
    assert response.status_code in (400, 429)
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)


def test_createuser_marks_the_password_as_chosen_by_someone_else(tmp_path):
    (tmp_path / "pw").write_text("a password typed by the admin 5")
    call_command(
        "createuser", "zoe", "--role", "caseworker", "--password-file", str(tmp_path / "pw")
    )

    from haven.accounts.models import User

    assert User.objects.get(username="zoe").password_change_required
