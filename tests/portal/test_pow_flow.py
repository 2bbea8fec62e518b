"""The proof-of-work in the portal: past the submission limit a solved nonce still gets a request
in (up to the ceiling), without JavaScript nothing changes, and only the request form may run the
script."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from haven.cases.models import Request
from haven.portal import limits
from haven.portal.pow import pow_solve
from tests.portal.helpers import receipt_of, request_form, submit


@pytest.fixture
def full(settings) -> None:
    """The per-process submission limit is used up."""
    settings.HAVEN_PORTAL_SUBMISSIONS_PER_MINUTE = 1
    settings.HAVEN_PORTAL_POW_BITS = 8
    assert limits.submissions.allow()


def _solved(client) -> dict[str, str]:
    form = request_form(client, 1, lang="en")
    return {
        **form,
        "pow": pow_solve(token=form["token"], bits=8),
        "name_0": "Kim Su-jin",
        "country": "CN",
        "region": "",
        "urgency": "3",
        "account": "We hide.",
        "contact": "",
    }


@pytest.mark.django_db
def test_past_the_limit_a_solved_proof_of_work_gets_the_request_in(client, org, full) -> None:
    response = client.post("/portal/en/request/", _solved(client))
    assert response.status_code == 200
    assert receipt_of(response)
    assert Request.objects.count() == 1


@pytest.mark.django_db
def test_a_solved_token_sent_again_buys_no_hash_and_no_place_under_the_ceiling(
    client, org, full, settings, monkeypatch
) -> None:
    from haven.portal import services

    settings.HAVEN_PORTAL_POW_CEILING_PER_MINUTE = 2
    hashed: list[str] = []
    real = services.receipt_keys_of
    monkeypatch.setattr(services, "receipt_keys_of", lambda r: hashed.append(r) or real(r))
    data = _solved(client)
    assert receipt_of(client.post("/portal/en/request/", data))
    for _ in range(5):
        again = client.post("/portal/en/request/", data)
        assert b'id="receipt"' not in again.content
    assert len(hashed) == 1  # each replay cost a query, not an Argon2id run
    assert Request.objects.count() == 1
    # The replays took no place: a new solved form still gets the second one.
    last = client.post("/portal/en/request/", _solved(client))
    assert last.status_code == 200, last.content.decode()[:3000]
    assert receipt_of(last)
    assert Request.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("nonce", [None, "", "1", "not-a-number", "9" * 30])
def test_past_the_limit_without_a_solution_the_kind_page_stores_nothing(
    client, org, full, nonce, settings
) -> None:
    # At 8 bits the nonce "1" solves one random form token in 256: at 32, never in practice.
    settings.HAVEN_PORTAL_POW_BITS = 32
    extra = {} if nonce is None else {"pow": nonce}
    response = submit(client, ["Kim Su-jin"], lang="en", **extra)
    assert response.status_code == 429
    assert b"try again in a few minutes" in response.content.lower()
    assert Request.objects.count() == 0


@pytest.mark.django_db
def test_a_solution_does_not_pass_the_ceiling(client, org, full, settings) -> None:
    settings.HAVEN_PORTAL_POW_CEILING_PER_MINUTE = 1
    assert limits.paid_submissions.allow()
    form = request_form(client, 1, lang="en")
    response = submit(client, ["Kim Su-jin"], lang="en", pow=pow_solve(token=form["token"], bits=8))
    assert response.status_code == 429
    assert Request.objects.count() == 0


@pytest.mark.django_db
def test_only_the_request_form_may_run_the_script(client, org, settings) -> None:
    settings.HAVEN_PORTAL_POW_BITS = 12
    ask = client.get("/portal/en/request/")
    assert "script-src 'self'" in ask.headers["Content-Security-Policy"]
    assert b'data-pow-bits="12"' in ask.content and b"portal/pow.js" in ask.content
    for path in ("/portal/en/", "/portal/en/status/"):
        page = client.get(path)
        assert "script-src" not in page.headers["Content-Security-Policy"]
        assert b"<script" not in page.content


@pytest.mark.django_db
def test_with_the_proof_of_work_off_the_form_has_no_script(client, org, settings) -> None:
    settings.HAVEN_PORTAL_POW_BITS = 0
    ask = client.get("/portal/en/request/")
    assert "script-src" not in ask.headers["Content-Security-Policy"]
    assert b"<script" not in ask.content and b"data-pow-bits" not in ask.content


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_browser_with_javascript_solves_it_and_gets_through_a_full_portal(
    browser: Browser, live_server, org, full
) -> None:
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{live_server.url}/portal/en/request/")
        page.fill("#id_name_0", "Pak Chol")
        page.select_option("#id_country", "CN")
        page.check("input[name=urgency][value='3']")
        page.fill("#id_account", "We are hiding.")
        with page.expect_navigation():
            page.click("#send")
        assert page.locator("#receipt").count() == 1, page.content()[:2000]
        assert errors == []
    finally:
        context.close()
    assert Request.objects.count() == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_browser_with_javascript_gets_through_a_guessed_receipt_prefix(
    browser: Browser, live_server, org, settings, client
) -> None:
    """Wrong receipts under the requester's own first five digits (issue 17, finding 4): the
    check asks for a proof-of-work, which the browser solves when the person presses Check."""
    settings.HAVEN_PORTAL_RECEIPT_FAILURES_PER_PREFIX = 2
    settings.HAVEN_PORTAL_POW_BITS = 8
    receipt = receipt_of(submit(client, ["Kim"], lang="en"))
    for _ in range(2):
        limits.receipt_failures.record(limits.receipt_bucket(receipt.replace("-", "")))
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{live_server.url}/portal/en/status/")
        page.fill("#id_receipt", receipt)
        with page.expect_navigation():
            page.click("#check")
        assert page.locator("form[data-pow-bits='8']").count() == 1, page.content()[:2000]
        with page.expect_navigation():
            page.click("#check")  # the receipt is still in the field; the script works first
        assert page.locator("#status-received").count() == 1, page.content()[:2000]
        assert errors == []
    finally:
        context.close()
