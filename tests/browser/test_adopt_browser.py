"""In Chromium with JavaScript off: a supervisor imports a spreadsheet (upload, report, load
with the self-refreshing progress page), an administrator manages a colleague's account, and a
caseworker prints a case file."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pikepdf
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from haven.accounts.models import User
from haven.cases.models import Person
from haven.imports import services
from haven.imports.models import ImportBatch, ImportStatus
from tests.factories import PASSWORD, ctx_for, make_case, totp_code
from tests.imports import samples

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module", autouse=True)
def _sync_orm_beside_playwright() -> Iterator[None]:
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


def _page(browser: Browser, base: str, user: User, locale: str = "en-GB") -> Page:
    context = browser.new_context(java_script_enabled=False, locale=locale, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    code = totp_code(user)
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    _submit(page, "button[type=submit].primary")
    page.fill("#id_code", code)
    _submit(page, "button[type=submit].primary")
    return page


@pytest.mark.browser
@pytest.mark.staff_pages
@pytest.mark.django_db(transaction=True)
def test_a_supervisor_imports_a_sheet_without_javascript(
    browser: Browser, live_server, alice, monkeypatch, tmp_path
) -> None:
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    monkeypatch.setattr("haven.web.views.imports.STEP_SECONDS", 0)
    sheet = tmp_path / "명단.xlsx"
    rows = [*samples.ROWS_KO, ["", "", "여", "어제", "", "", "", "", "", ""]]
    sheet.write_bytes(samples.xlsx_bytes(samples.HEADERS_KO, rows))
    page = _page(browser, live_server.url, alice)
    try:
        page.goto(f"{live_server.url}/imports/")
        page.set_input_files("#id_file", str(sheet))
        _submit(page, "button[type=submit].primary")
        assert "/imports/" in page.url
        assert page.text_content("#rows-valid").strip().startswith("4")
        assert page.text_content("#rows-invalid").strip() == "1"
        assert "어제" in page.text_content("#import-errors")
        assert Person.objects.count() == 0
        # The rows that will not load, as a file to fix.
        with page.expect_download() as download:
            page.click("text=CSV")
        assert b"\xec\x96\xb4\xec\xa0\x9c" in download.value.path().read_bytes()  # 어제
        # Load: the progress page refreshes itself (no script) until everything is in.
        page.click("#commit-form button[type=submit]")
        page.wait_for_url("**/imports/*/", timeout=30_000)
        assert page.text_content("#import-status").strip() == "Loaded"
        assert Person.objects.count() == 4
        assert ImportBatch.objects.get().status == ImportStatus.COMMITTED
    finally:
        page.context.close()


@pytest.mark.browser
@pytest.mark.staff_pages
@pytest.mark.django_db(transaction=True)
def test_an_administrator_manages_staff_without_javascript(
    browser: Browser, live_server, erin, bob
) -> None:
    page = _page(browser, live_server.url, erin)
    try:
        page.goto(f"{live_server.url}/staff/")
        assert "bob" in page.text_content("#staff-list")
        page.goto(f"{live_server.url}/staff/new/")
        page.fill("#id_username", "minji")
        page.select_option("#id_role", "caseworker")
        page.fill("#id_new_team", "Team C")
        _submit(page, "#staff-new button[type=submit]")
        password = page.text_content("#temporary-password").strip()
        assert User.objects.get(username="minji").check_password(password)
        page.goto(f"{live_server.url}/staff/{bob.pk}/")
        page.select_option("#staff-change #id_role", "intake")
        _submit(page, "#staff-change button[type=submit]")
        assert page.text_content("#staff-role").strip() == "Intake officer"
        _submit(page, "#staff-active-form button[type=submit]")
        assert page.text_content("#staff-active").strip() == "No"
        page.fill("#staff-reset #id_confirm", "bob")
        _submit(page, "#staff-reset button[type=submit]")
        assert User.objects.get(pk=bob.pk).check_password(
            page.text_content("#temporary-password").strip()
        )
    finally:
        page.context.close()


@pytest.mark.browser
@pytest.mark.staff_pages
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locale", ["ko-KR", "en-GB"])
def test_a_caseworker_prints_a_case_file(browser: Browser, live_server, alice, bob, locale) -> None:
    case = make_case(ctx=ctx_for(alice), actor=alice, owner=bob)
    page = _page(browser, live_server.url, bob, locale=locale)
    try:
        page.goto(f"{live_server.url}/cases/{case.pk}/")
        page.emulate_media(media="print")
        assert not page.is_visible("header.top")  # the print stylesheet hides the controls
        assert page.is_visible(".print-mark")
        page.emulate_media(media="screen")
        assert not page.is_visible(".print-mark")
        with page.expect_download() as download:
            page.click("#case-print")
        data = download.value.path().read_bytes()
        pdf = pikepdf.open(io.BytesIO(data))
        assert len(pdf.pages) >= 1 and data.startswith(b"%PDF")
    finally:
        page.context.close()
