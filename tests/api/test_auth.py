"""Token and session authentication over the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from haven.api.models import ApiToken
from haven.audit.models import AuditEntry
from haven.crypto import secret_digest
from tests.factories import PASSWORD, login, make_case, totp_code

pytestmark = pytest.mark.django_db


def _token(username: str, password: str = PASSWORD, otp: str | None = None):
    from haven.accounts.models import User

    user = User.objects.filter(username=username).first()
    code = otp if otp is not None else (totp_code(user) if user is not None else "123456")
    return APIClient().post(
        "/api/auth/token/",
        {"username": username, "password": password, "otp": code},
        format="json",
    )


def test_a_token_is_issued_for_the_right_password_and_works(bob, alice, ctx):
    case = make_case(ctx=ctx, actor=alice, owner=bob)

    response = _token("bob")

    assert response.status_code == 200
    token = response.json()["token"]
    stored = ApiToken.objects.get(user=bob)
    # Only a digest is stored: the token itself (and the secret that unlocks bob's key) is not.
    assert bytes(stored.digest) == secret_digest(token.removeprefix("hv_"))
    assert token.encode() not in bytes(stored.key_blob) and token.encode() not in bytes(
        stored.digest
    )
    assert AuditEntry.objects.filter(action="api.token", actor_id=bob.pk).exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(f"/api/cases/{case.pk}/").status_code == 200
    moved = client.post(
        f"/api/cases/{case.pk}/transition/", {"to_state": "verifying", "version": 1}, format="json"
    )
    assert moved.status_code == 200


def test_each_login_gets_its_own_token_and_revoking_one_ends_only_it(bob):
    first, second = _token("bob").json()["token"], _token("bob").json()["token"]
    assert first != second
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")

    assert client.delete("/api/auth/token/").status_code == 204
    assert client.get("/api/cases/").status_code == 401
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert other.get("/api/cases/").status_code == 200
    assert AuditEntry.objects.filter(action="api.token_revoke", actor_id=bob.pk).exists()


def test_an_expired_token_is_refused(bob):
    token = _token("bob").json()["token"]
    ApiToken.objects.update(expires_at=ApiToken.objects.get().created_at)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.get("/api/cases/").status_code == 401


def test_a_token_with_a_tampered_key_blob_is_refused(bob):
    token = _token("bob").json()["token"]
    row = ApiToken.objects.get()
    blob = bytearray(row.key_blob)
    blob[-1] ^= 1
    ApiToken.objects.update(key_blob=bytes(blob))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.get("/api/cases/").status_code == 401


@pytest.mark.parametrize(
    ("username", "password"), [("bob", "wrong password"), ("nobody", PASSWORD)]
)
def test_wrong_credentials_are_401_and_say_nothing_more(bob, username, password):
    response = _token(username, password)

    assert response.status_code == 401
    assert response.json() == {
        "code": "authentication_failed",
        "detail": "Wrong username or password.",
    }
    assert not ApiToken.objects.exists()


def test_missing_credentials_are_400(bob):
    response = APIClient().post("/api/auth/token/", {"username": "bob"}, format="json")

    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def test_an_inactive_user_gets_no_token(bob):
    bob.is_active = False
    bob.save()

    assert _token("bob").status_code == 401


@pytest.mark.parametrize(
    "header", ["Token 0123456789abcdef0123456789abcdef01234567", "Token", "Token a b", "Bearer x"]
)
def test_a_bad_token_is_401(bob, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/cases/")

    assert response.status_code == 401, header
    assert response["WWW-Authenticate"] == "Token"


def test_session_authentication_needs_csrf_for_changes(bob, alice, ctx):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    client = APIClient(enforce_csrf_checks=True)
    login(client, bob)

    assert client.get(f"/api/cases/{case.pk}/").status_code == 200
    refused = client.patch(f"/api/cases/{case.pk}/", {"version": 1, "urgency": 4}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


def test_a_token_needs_the_second_factor(bob):
    totp_code(bob)

    missing = APIClient().post(
        "/api/auth/token/", {"username": "bob", "password": PASSWORD}, format="json"
    )
    wrong = _token("bob", otp="000000")

    assert missing.status_code == 401 and "otp" in missing.json()["detail"]
    assert wrong.status_code == 401
    assert not ApiToken.objects.exists()


def test_someone_without_an_authenticator_is_sent_to_the_web_to_enrol(bob):
    response = APIClient().post(
        "/api/auth/token/",
        {"username": "bob", "password": PASSWORD, "otp": "123456"},
        format="json",
    )

    assert response.status_code == 403 and "two-factor" in response.json()["detail"]


def test_grave_actions_need_a_fresh_token(ctx, alice, bob, carol):
    from django.utils import timezone

    case = make_case(ctx=ctx, actor=alice, owner=bob)
    token = _token("bob").json()["token"]
    ApiToken.objects.update(created_at=timezone.now() - timezone.timedelta(hours=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.post(f"/api/cases/{case.pk}/access/grant/", {"user": carol.pk}, format="json")

    assert response.status_code == 403 and "new token" in response.json()["detail"]
    assert client.get(f"/api/cases/{case.pk}/").status_code == 200  # reading is still fine


def test_a_lockout_is_a_json_429_like_every_other_api_error(bob):
    for _ in range(4):
        assert _token("bob", "wrong password").status_code == 401
    assert _token("bob", "wrong password").status_code == 429  # the fifth locks the name out

    locked = _token("bob")  # the right password, now

    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert locked.json()["code"] == "locked_out"
    assert "15 minutes" in locked.json()["detail"]
    assert int(locked["Retry-After"]) == 15 * 60
    assert not ApiToken.objects.exists()


def test_the_schema_documents_the_lockout(client_for, bob):
    schema = client_for(bob).get("/api/schema/?format=json").json()

    answer = schema["paths"]["/api/auth/token/"]["post"]["responses"]["429"]
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
