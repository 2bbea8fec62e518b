"""In Chromium with JavaScript disabled: come back with the receipt, read a staff reply, add a
detail. No cookie at any point; the receipt never appears in a URL."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from haven.messaging.models import Author, Message
from haven.messaging.selectors import message_list
from haven.messaging.services import message_send
from haven.portal.receipts import receipt_display
from haven.portal.services import Submission, portal_request_create
from tests.factories import ctx_for


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_requester_without_javascript_reads_a_reply_and_adds_a_detail(
    browser: Browser, live_server, dave
) -> None:
    submission = Submission(
        names=["김선희", "Ri Yong-ho"],
        country="CN",
        region="Ningbo",
        urgency=3,
        account="식당에서 일하는 두 사람입니다.",
        contact="",
    )
    request, receipt = portal_request_create(submission=submission, form_token="browser")
    message_send(ctx=ctx_for(dave), actor=dave, request=request, body="Are you both safe?")

    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen_urls: list[str] = []
    page.on("request", lambda r: seen_urls.append(r.url))
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        page.goto(f"{live_server.url}/portal/en/status/")
        page.fill("#id_receipt", receipt_display(receipt))
        with page.expect_navigation():
            page.click("#check")
        assert "Are you both safe?" in (page.text_content("#conversation") or "")
        assert page.locator("#last-used").count() == 1
        page.fill("#id_body", "Yes. We are now in Shenyang.")
        with page.expect_navigation():
            page.click("#send-message")
        assert page.locator("#sent").count() == 1
        text = page.text_content("#conversation") or ""
        assert "Are you both safe?" in text and "Yes. We are now in Shenyang." in text
        assert context.cookies() == []
        assert not [t for t in console if "Content Security Policy" in t]
    finally:
        context.close()
    assert not [u for u in seen_urls if receipt in u.replace("-", "")]
    assert Message.objects.filter(author_kind=Author.REQUESTER).count() == 1
    bodies = [v.body for v in message_list(ctx=ctx_for(dave), user=dave, request=request)]
    assert bodies == ["Are you both safe?", "Yes. We are now in Shenyang."]
