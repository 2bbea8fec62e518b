"""The administrators' staff pages: the same rules, re-authentication and audit as the CLI."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts.middleware import AUTH_AT
from haven.accounts.models import Role, Team, User
from haven.audit.models import AuditEntry
from haven.vault.services import user_key_open
from tests.factories import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(erin) -> Client:
    client = Client()
    login(client, erin)
    return client


def _password(response) -> str:
    match = re.search(r'id="temporary-password"[^>]*>([^<]+)<', response.content.decode())
    assert match, response.content.decode()[:500]
    return match.group(1)


def test_the_list_shows_roles_teams_and_authenticators(admin, alice, bob) -> None:
    TOTPDevice.objects.create(user=bob, name="phone", confirmed=True)
    page = admin.get("/staff/").content.decode()
    assert "alice" in page and "bob" in page and "Team A" in page
    assert admin.get("/staff/?role=caseworker").context["people"].count() == 1


def test_creating_an_account_shows_a_temporary_password_once(admin, erin) -> None:
    response = admin.post(
        "/staff/new/",
        {
            "username": "minji",
            "role": Role.CASEWORKER,
            "new_team": "Team C",
            "first_name": "Min-ji",
        },
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    password = _password(response)
    user = User.objects.get(username="minji")
    assert user.team == Team.objects.get(name="Team C")
    assert user.password_change_required
    assert user.check_password(password)
    user_key_open(user=user, password=password)  # a key pair wrapped by that password
    entry = AuditEntry.objects.get(action="user.create")
    assert entry.actor == erin
    assert password not in str(entry.detail)


def test_bad_input_creates_nothing(admin) -> None:
    for data in (
        {"username": "bad name!", "role": Role.CASEWORKER},
        {"username": "x", "role": "emperor"},
        {"username": "frank2", "role": Role.PARTNER_LIAISON},  # no partner
        {"username": "ERIN", "role": Role.CASEWORKER},  # taken, whatever the case
    ):
        before = User.objects.count()
        assert admin.post("/staff/new/", data).status_code == 400
        assert User.objects.count() == before


def test_change_role_and_team_and_deactivate(admin, bob, team_b) -> None:
    response = admin.post(f"/staff/{bob.pk}/change/", {"role": Role.INTAKE, "team": team_b.pk})
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.role == Role.INTAKE and bob.team == team_b
    admin.post(f"/staff/{bob.pk}/active/", {"active": "0"})
    bob.refresh_from_db()
    assert not bob.is_active
    actions = list(AuditEntry.objects.filter(action="user.update").values_list("detail", flat=True))
    assert len(actions) == 2


def test_nobody_changes_their_own_account(admin, erin) -> None:
    admin.post(f"/staff/{erin.pk}/change/", {"role": Role.SUPERVISOR})
    admin.post(f"/staff/{erin.pk}/active/", {"active": "0"})
    erin.refresh_from_db()
    assert erin.role == Role.ADMIN and erin.is_active


def test_reset_needs_the_username_typed_and_gives_a_new_key(admin, bob) -> None:
    old_key = bytes(bob.key.public_key)
    admin.post(f"/staff/{bob.pk}/reset/", {"confirm": "someone"})
    bob.refresh_from_db()
    assert bytes(bob.key.public_key) == old_key
    TOTPDevice.objects.create(user=bob, name="phone", confirmed=True)
    response = admin.post(f"/staff/{bob.pk}/reset/", {"confirm": "bob", "reset_two_factor": "on"})
    password = _password(response)
    bob.refresh_from_db()
    assert bob.check_password(password) and bob.password_change_required
    assert bytes(bob.key.public_key) != old_key
    assert not TOTPDevice.objects.filter(user=bob).exists()
    assert AuditEntry.objects.filter(action="user.password_reset").count() == 1


def test_changes_need_the_password_typed_recently(admin, bob) -> None:
    session = admin.session
    session[AUTH_AT] = time.time() - 3600
    session.save()
    response = admin.post(f"/staff/{bob.pk}/change/", {"role": Role.INTAKE})
    assert response.status_code == 302 and "/account/confirm/" in response["Location"]
    bob.refresh_from_db()
    assert bob.role == Role.CASEWORKER


def test_other_roles_are_refused(alice) -> None:
    client = Client()
    login(client, alice)
    assert client.get("/staff/").status_code == 403
    assert client.post("/staff/new/", {"username": "x", "role": "admin"}).status_code in (302, 403)
    assert not User.objects.filter(username="x").exists()
