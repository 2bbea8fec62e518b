"""One process can serve everything, the staff side only, or the requester portal only."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.test import Client, RequestFactory
from django.urls import clear_url_caches

from haven.portal import errors


@pytest.fixture
def serve(settings):
    def switch(urlconf: str) -> Client:
        settings.ROOT_URLCONF = urlconf
        if urlconf == "haven.urls_portal":  # as `haven portal` (HAVEN_SERVE=portal) runs it
            settings.MIDDLEWARE = settings.PORTAL_MIDDLEWARE
        clear_url_caches()
        return Client()

    yield switch
    clear_url_caches()


@pytest.mark.django_db
def test_a_portal_only_process_serves_the_portal_and_nothing_of_the_staff_side(serve):
    client = serve("haven.urls_portal")
    assert client.get("/portal/").status_code == 200
    assert client.get("/portal/en/").status_code == 200
    for path in ("/login/", "/api/cases/", "/api/schema/", "/i18n/setlang/", "/cases/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"/login/" not in response.content
        assert response.headers["Content-Security-Policy"]
        assert "Set-Cookie" not in response.headers


@pytest.mark.django_db
def test_a_portal_only_process_sends_its_root_to_the_portal(serve):
    client = serve("haven.urls_portal")
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/"


@pytest.mark.django_db
def test_the_portal_only_not_found_page_speaks_the_pages_language(serve):
    client = serve("haven.urls_portal")
    english = client.get("/portal/en/nothing-here/")
    korean = client.get("/portal/nothing-here/")
    chinese = client.get("/portal/zh/nothing-here/")
    assert english.status_code == korean.status_code == chinese.status_code == 404
    assert english.headers["Content-Language"] == "en"
    assert chinese.headers["Content-Language"] == "zh-hans"
    assert korean.headers["Content-Language"] == "ko"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("exception", "status"), [(RequestDataTooBig(), 413), (SuspiciousOperation(), 400)]
)
def test_the_portal_only_error_pages_say_nothing_was_saved_without_staff_links(exception, status):
    request = RequestFactory().post("/portal/en/request/")
    response = errors.bad_request(request, exception)
    assert response.status_code == status
    assert b"Nothing was saved" in response.content
    assert b"/login/" not in response.content
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_the_portal_only_server_error_page_says_nothing_was_acknowledged():
    response = errors.server_error(RequestFactory().get("/portal/"))
    assert response.status_code == 500
    assert response.headers["Content-Language"] == "ko"


@pytest.mark.django_db
def test_a_staff_only_process_does_not_serve_the_portal(serve):
    client = serve("haven.urls_staff")
    assert client.get("/portal/").status_code == 404
    assert client.get("/login/").status_code == 200


def test_a_portal_only_process_runs_the_slim_middleware_and_passes_djangos_checks(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "haven.settings.base",
        "HAVEN_SERVE": "portal",
        "HAVEN_DATA_DIR": str(tmp_path),
        "HAVEN_SECRET_KEY": "a-test-only-secret-key-" + "x" * 40,
        "HAVEN_DEBUG": "false",
    }
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "from django.core.management import call_command; call_command('check'); "
        "print(settings.MIDDLEWARE == settings.PORTAL_MIDDLEWARE, "
        "'django.contrib.sessions.middleware.SessionMiddleware' in settings.MIDDLEWARE)"
    )
    result = subprocess.run(  # noqa: S603 - our interpreter, our own script
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True False"
