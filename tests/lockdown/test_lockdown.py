"""Lockdown: every session and token ends, logins stay suspended until two supervisors lift it;
a drill changes nothing."""

from __future__ import annotations

import io

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from haven.api.models import ApiToken
from haven.api.services import api_token_create
from haven.audit.models import AuditEntry
from haven.lockdown.models import Lockdown
from haven.lockdown.services import lockdown_active, lockdown_lift, lockdown_start
from tests.factories import PASSWORD, UserFactory, login, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_supervisor(org):
    from haven.accounts.models import Role

    return UserFactory(username="judy", role=Role.SUPERVISOR)


def test_lockdown_ends_every_session_and_token_and_suspends_logins(client, alice, bob):
    other = type(client)()
    login(other, bob)
    api_token_create(user=bob, password=PASSWORD)
    login(client, alice)

    response = client.post(reverse("web:lockdown_start"))

    assert response.status_code == 302
    assert not Session.objects.exists() and not ApiToken.objects.exists()
    assert other.get(reverse("web:cases")).status_code == 302  # bob is out too
    refused = client.post(reverse("web:login"), {"username": "bob", "password": PASSWORD})
    assert refused.status_code == 200 and "locked down" in refused.content.decode()
    token = client.post(
        "/api/auth/token/",
        {"username": "bob", "password": PASSWORD, "otp": totp_code(bob)},
        content_type="application/json",
    )
    assert token.status_code == 403
    assert AuditEntry.objects.filter(action="lockdown.start").exists()


def test_a_drill_reports_and_changes_nothing(client, alice, bob):
    login(client, alice)
    sessions = Session.objects.count()

    response = client.post(reverse("web:lockdown_start"), {"drill": "on"})

    assert response.status_code == 302 and response["Location"] == reverse("web:lockdown")
    assert Session.objects.count() == sessions and lockdown_active() is None
    assert client.get(reverse("web:cases")).status_code == 200
    assert Lockdown.objects.get().drill


def test_two_different_supervisors_lift_it(alice, second_supervisor, bob):
    lockdown_start(actor=alice)

    with pytest.raises(ValidationError):
        lockdown_lift(first=alice, second=alice)
    with pytest.raises(PermissionDenied):
        lockdown_lift(first=alice, second=bob)
    assert lockdown_active() is not None

    lockdown_lift(first=alice, second=second_supervisor)
    assert lockdown_active() is None


def test_only_supervisors_lock_down(bob, erin):
    for user in (bob, erin):
        with pytest.raises(PermissionDenied):
            lockdown_start(actor=user)
    assert not Lockdown.objects.exists()


@pytest.mark.parametrize("name", ["bob", "dave", "erin", "grace"])
def test_only_supervisors_see_the_lockdown_and_retention_pages(client, request, name):
    login(client, request.getfixturevalue(name))
    for url in ("web:lockdown", "web:retention"):
        assert client.get(reverse(url)).status_code == 403
    assert client.post(reverse("web:lockdown_start")).status_code == 403
    assert not Lockdown.objects.exists()


def test_the_command_lifts_with_two_passwords_typed_at_the_terminal(
    monkeypatch, capsys, alice, second_supervisor
):
    lockdown_start(actor=alice)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n{PASSWORD}\n"))

    call_command("lockdown", "lift", "--first", "alice", "--second", "judy")

    assert "lifted" in capsys.readouterr().out and lockdown_active() is None


def test_the_command_refuses_a_wrong_password_and_changes_nothing(
    monkeypatch, alice, second_supervisor
):
    lockdown_start(actor=alice)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\nwrong\n"))

    with pytest.raises(CommandError, match="Wrong password for judy"):
        call_command("lockdown", "lift", "--first", "alice", "--second", "judy")
    assert lockdown_active() is not None


def test_locking_down_needs_the_password_typed_recently(client, alice):
    import time

    from haven.accounts.middleware import AUTH_AT

    login(client, alice)
    session = client.session
    session[AUTH_AT] = time.time() - 3600
    session.save()

    response = client.post(reverse("web:lockdown_start"))

    assert response.status_code == 302 and "confirm" in response["Location"]
    assert lockdown_active() is None
