"""Every response, pages and redirects alike, carries the security headers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import login

pytestmark = pytest.mark.django_db

EXPECTED = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Permissions-Policy": "geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def _check(response) -> None:
    for header, part in EXPECTED.items():
        assert part in response.headers.get(header, ""), header
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_pages_redirects_and_errors_carry_the_headers(client, bob):
    _check(client.get(reverse("web:login")))
    _check(client.get(reverse("web:cases")))  # a redirect to the login page
    login(client, bob)
    _check(client.get(reverse("web:cases")))
    _check(client.get("/no-such-page/"))
    _check(client.get("/api/cases/"))


def test_a_session_ended_by_the_idle_limit_is_answered_with_the_headers(client, bob):
    from haven.accounts.middleware import SEEN_AT

    login(client, bob)
    session = client.session
    session[SEEN_AT] = 0
    session.save()

    _check(client.get(reverse("web:cases")))
