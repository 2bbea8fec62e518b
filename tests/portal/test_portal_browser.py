"""In Chromium with JavaScript disabled: ask for help for two people, save the receipt, come
back with it and see the status."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from haven.cases.models import Request


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_requester_without_javascript_asks_for_two_people_and_comes_back(
    browser: Browser, live_server, dave
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="ko-KR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text))
    try:
        page.goto(f"{live_server.url}/portal/")
        assert page.locator("html").get_attribute("lang") == "ko"
        with page.expect_navigation():
            page.click("#ask")
        with page.expect_navigation():
            page.select_option("#id_count", "2")
            page.click(".count button")
        page.fill("#id_name_0", "김선희")
        page.fill("#id_name_1", "Ri Yong-ho")
        page.select_option("#id_country", "CN")
        page.fill("#id_region", "Ningbo")
        page.check("input[name=urgency][value='3']")
        page.fill("#id_account", "식당에서 일하는 두 사람입니다. 떠나고 싶습니다.")
        with page.expect_navigation():
            page.click("#send")
        receipt = (page.text_content("#receipt") or "").strip()
        assert len(receipt.replace("-", "")) == 20
        assert page.locator("#continue").count() == 0

        # Going on without ticking "I have saved it" keeps the receipt on screen (the browser
        # refuses the required box; the server refuses it too, see test_portal.py).
        page.click("#saved")
        assert (page.text_content("#receipt") or "").strip() == receipt
        page.check("#id_saved")
        with page.expect_navigation():
            page.click("#saved")
        assert page.locator("#receipt").count() == 0
        assert context.cookies() == []  # no cookie at any point

        with page.expect_navigation():
            page.click("#continue")
        page.fill("#id_receipt", receipt.replace("-", " "))
        with page.expect_navigation():
            page.click("#check")
        assert page.locator("#status-received").count() == 1
        assert context.cookies() == []
        assert not [text for text in blocked if "Content Security Policy" in text]
    finally:
        context.close()
    request = Request.objects.get()
    assert request.people_count == 2 and request.cases.count() == 2
