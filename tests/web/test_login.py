"""Logging in: password, then a second factor (enrolled on first login, only ever for oneself);
throttling and lockout; idle and absolute session limits; the password again before grave acts."""

from __future__ import annotations

import time

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts.middleware import AUTH_AT, LOGIN_AT, SEEN_AT
from haven.accounts.models import RecoveryCode
from haven.audit.models import AuditEntry
from haven.vault.models import Grant
from haven.web.views.login import PENDING
from tests.factories import PASSWORD, login, login_with_pages, make_case, totp_code

pytestmark = pytest.mark.django_db


def _password_step(client, user, password=PASSWORD):
    return client.post(reverse("web:login"), {"username": user.username, "password": password})


def _logged_in(client) -> bool:
    return client.get(reverse("web:cases")).status_code == 200


def _enrol(client, bob) -> list[str]:
    _password_step(client, bob)
    page = client.get(reverse("web:login_two_factor"))
    assert page.status_code == 200 and b"<svg" in page.content  # the QR code, inline
    device = TOTPDevice.objects.get(user=bob, confirmed=False)
    from django_otp.oath import totp

    code = f"{totp(device.bin_key):06d}"
    done = client.post(reverse("web:login_two_factor"), {"code": code})
    assert done.status_code == 200 and b"recovery codes" in done.content
    return list(done.context["codes"])


def test_the_first_login_enrols_an_authenticator_and_shows_recovery_codes_once(client, bob):
    codes = _enrol(client, bob)

    assert len(codes) == 10 and len(set(codes)) == 10
    assert _logged_in(client)
    assert TOTPDevice.objects.get(user=bob).confirmed
    stored = b"".join(bytes(c.digest) for c in RecoveryCode.objects.filter(user=bob))
    assert all(code.replace("-", "").encode() not in stored for code in codes)
    assert AuditEntry.objects.filter(action="two_factor.enrol", actor_id=bob.pk).exists()


def test_a_wrong_enrolment_code_is_refused_and_nothing_is_confirmed(client, bob):
    _password_step(client, bob)
    client.get(reverse("web:login_two_factor"))

    response = client.post(reverse("web:login_two_factor"), {"code": "000000"})

    assert response.status_code == 400 and "not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=bob, confirmed=True).exists()
    assert not _logged_in(client)


def test_enrolment_is_only_ever_for_the_person_logging_in(client, bob, carol):
    _password_step(client, bob)
    client.get(reverse("web:login_two_factor"), {"user": carol.pk})
    client.post(reverse("web:login_two_factor"), {"code": "123456", "user": carol.pk})

    assert not TOTPDevice.objects.filter(user=carol).exists()
    assert TOTPDevice.objects.filter(user=bob).count() == 1


def test_the_password_alone_does_not_log_in(client, bob):
    totp_code(bob)  # bob has an authenticator
    _password_step(client, bob)

    assert not _logged_in(client)


def test_a_code_cannot_be_replayed(client, bob):
    code = totp_code(bob)
    _password_step(client, bob)
    assert client.post(reverse("web:login_two_factor"), {"code": code}).status_code == 302
    client.post(reverse("web:logout"))

    _password_step(client, bob)
    again = client.post(reverse("web:login_two_factor"), {"code": code})

    assert again.status_code == 400 and "already used" in again.content.decode()


def test_a_recovery_code_works_once(client, bob):
    codes = _enrol(client, bob)
    client.post(reverse("web:logout"))

    _password_step(client, bob)
    assert client.post(reverse("web:login_two_factor"), {"code": codes[0]}).status_code == 302
    client.post(reverse("web:logout"))
    _password_step(client, bob)
    again = client.post(reverse("web:login_two_factor"), {"code": codes[0].upper()})

    assert again.status_code == 400
    assert AuditEntry.objects.filter(action="two_factor.recovery_used").count() == 1


def test_five_wrong_codes_send_the_person_back_to_the_password(client, bob):
    totp_code(bob)
    _password_step(client, bob)
    for _ in range(5):
        response = client.post(reverse("web:login_two_factor"), {"code": "999999"})

    assert response.status_code == 302 and response["Location"] == reverse("web:login")
    assert PENDING not in client.session


@pytest.mark.parametrize("code", ["", "x" * 5000, "\x00\x01", "12345", "１２３４５６"])
def test_hostile_codes_get_a_clear_error(client, bob, code):
    totp_code(bob)
    _password_step(client, bob)

    response = client.post(reverse("web:login_two_factor"), {"code": code})

    assert response.status_code == 400
    assert not _logged_in(client)


def test_the_second_step_needs_the_first_and_expires(client, bob):
    assert client.get(reverse("web:login_two_factor")).status_code == 302
    code = totp_code(bob)
    _password_step(client, bob)
    session = client.session
    session[PENDING] = {**session[PENDING], "since": time.time() - 3600}
    session.save()

    response = client.post(reverse("web:login_two_factor"), {"code": code})

    assert response.status_code == 302 and response["Location"] == reverse("web:login")


def test_repeated_wrong_passwords_lock_out_that_name_from_that_address_only(client, bob):
    for _ in range(5):
        _password_step(client, bob, "wrong password")

    locked = _password_step(client, bob)
    assert locked.status_code == 429 and "Too many attempts" in locked.content.decode()
    # The same person, from another address, is not locked out by whoever tried here.
    elsewhere = client.post(
        reverse("web:login"),
        {"username": "bob", "password": PASSWORD},
        REMOTE_ADDR="10.9.8.7",
    )
    assert elsewhere.status_code == 302
    # And the lockout ends after the cool-off.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timezone.timedelta(hours=1))
    assert _password_step(client, bob).status_code == 302


def test_an_idle_session_ends_after_the_timeout(client, bob):
    login(client, bob)
    session = client.session
    session[SEEN_AT] = time.time() - 31 * 60
    session.save()

    response = client.get(reverse("web:cases"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))
    assert not _logged_in(client)


def test_a_session_ends_at_its_absolute_lifetime_however_active(client, bob):
    login(client, bob)
    session = client.session
    session[LOGIN_AT] = time.time() - 9 * 3600
    session.save()

    assert client.get(reverse("web:cases")).status_code == 302


def test_a_session_without_the_second_factor_is_ended(client, bob):
    client.force_login(bob)  # as if someone bypassed the two-step login

    assert client.get(reverse("web:cases")).status_code == 302


def test_grave_actions_need_the_password_typed_recently(client, ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    login(client, bob)
    session = client.session
    session[AUTH_AT] = time.time() - 3600
    session.save()
    url = reverse("web:case_grant", args=[case.pk])

    refused = client.post(url, {"user": carol.pk}, HTTP_REFERER=f"/cases/{case.pk}/")
    assert refused.status_code == 302 and refused["Location"].startswith(
        reverse("web:confirm_password")
    )
    assert not Grant.objects.filter(user=carol).exists()
    wrong = client.post(reverse("web:confirm_password"), {"password": "nope", "next": "/"})
    assert wrong.status_code == 400
    confirmed = client.post(
        reverse("web:confirm_password"), {"password": PASSWORD, "next": "https://evil.example/"}
    )
    assert confirmed.status_code == 302 and confirmed["Location"] == reverse("web:dashboard")
    assert client.post(url, {"user": carol.pk}).status_code == 302
    assert Grant.objects.filter(user=carol).exists()


def test_logging_in_through_the_pages_is_audited(client, bob):
    assert login_with_pages(client, bob).status_code == 302

    assert AuditEntry.objects.filter(action="login", actor_id=bob.pk).exists()
