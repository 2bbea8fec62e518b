"""In Chromium, with JavaScript on and off: record a broker's request for a group of three, move one
member step by step to ``arrived`` and see the dashboard change."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import Browser, Page, sync_playwright

from haven.cases.models import Case, Request
from tests.factories import PASSWORD, ctx_for, make_broker, totp_code

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PATH_TO_ARRIVED = [
    "verifying",
    "accepted",
    "referred",
    "left_workplace",
    "in_transit",
    "in_third_country",
    "awaiting_flight",
    "arrived",
]
GROUP = [("김선희", "Kim Sun-hui"), ("리영호", "Ri Yong-ho"), ("박정민", "Pak Jong-min")]


@pytest.fixture(scope="module", autouse=True)
def _sync_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread; the ORM calls the fixtures make
    here are still synchronous and safe. Allowed for this module only, never for other tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _submit(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _arrived_count(page: Page, base: str) -> int:
    page.goto(f"{base}/")
    return int((page.text_content("#state-arrived .count") or "").strip())


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_supervisor_records_a_group_and_moves_one_member_to_arrived(
    browser: Browser, live_server, alice, javascript: bool
) -> None:

    broker = make_broker(ctx=ctx_for(alice), actor=alice, alias="Mr Jang (Dandong)")
    base = live_server.url
    context = browser.new_context(java_script_enabled=javascript, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        # Log in: the password, then the code from alice's authenticator.
        code = totp_code(alice)
        page.goto(f"{base}/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        _submit(page, "button[type=submit].primary")
        assert page.url.endswith("/login/two-factor/")
        page.fill("#id_code", code)
        _submit(page, "button[type=submit].primary")
        assert page.url.rstrip("/") == base.rstrip("/")
        assert _arrived_count(page, base) == 0

        # Record a broker's request for a group of three (rows added without JavaScript).
        page.goto(f"{base}/requests/new/")
        page.select_option("#id_channel", "broker")
        page.select_option("#id_broker", str(broker.pk))
        page.select_option("#id_urgency", "3")
        page.fill("#id_country", "CN")
        page.fill("#id_account", "Three restaurant workers from Ningbo ask for help leaving.")
        page.fill("#id_group_label", "Ningbo three")
        page.fill("#id_people_count", "3")
        _submit(page, "button[name=resize]")
        assert page.input_value("#id_account").startswith("Three restaurant workers")
        for i, (hangul, romanized) in enumerate(GROUP):
            page.fill(f"#id_p{i}-name_hangul", hangul)
            page.fill(f"#id_p{i}-name_romanized", romanized)
            page.fill(f"#id_p{i}-occupation", "restaurant worker")
            page.fill(f"#id_p{i}-own_words", "I decided myself to leave.")
        _submit(page, "button[name=save]")
        assert "/requests/" in page.url
        assert page.locator(".msg.success").count() == 1
        request = Request.objects.get()
        assert request.people_count == 3 and request.broker_id == broker.pk
        assert Case.objects.filter(request=request).count() == 3

        # Open one member's case and move it step by step to arrived.
        _submit(page, "a:has-text('리영호')")
        case_url = page.url
        for state in PATH_TO_ARRIVED:
            page.select_option("#id_to_state", state)
            page.fill("#id_region", "Bangkok" if state == "arrived" else "")
            page.select_option("#id_source", "broker")
            page.select_option("#id_confidence", "likely")
            _submit(page, "#transition-form button[type=submit]")
            assert page.url == case_url, page.content()[:2000]
            with translation.override("en"):  # the page's language, whatever this thread's
                expected = Case.objects.get(
                    pk=case_url.rstrip("/").rsplit("/", 1)[1]
                ).get_state_display()
            assert (page.text_content("#case-state") or "").strip() == expected
        assert (page.text_content("#case-state") or "").strip() == "Arrived"
        assert sorted(Case.objects.filter(request=request).values_list("state", flat=True)) == [
            "arrived",
            "received",
            "received",
        ]

        # The dashboard shows the arrival.
        assert _arrived_count(page, base) == 1
        shot = Path(tempfile.gettempdir()) / f"haven-journey-{'js' if javascript else 'nojs'}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0
    finally:
        context.close()
