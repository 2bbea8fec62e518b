"""In Chromium with JavaScript disabled: ask for help for two people with a photo attached; a
refused file first sends the person back to the form with what they typed still there."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from haven.attachments.models import Attachment
from haven.attachments.selectors import attachment_download, attachment_rows
from haven.cases.models import Request
from tests.attachments import samples
from tests.factories import ctx_for


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_requester_without_javascript_sends_a_photo_for_two_people(
    browser: Browser, live_server, dave
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    photo = samples.jpeg_with_gps()
    try:
        page.goto(f"{live_server.url}/portal/en/request/?people=2")
        page.fill("#id_name_0", "김선희")
        page.fill("#id_name_1", "Ri Yong-ho")
        page.select_option("#id_country", "CN")
        page.check("input[name=urgency][value='3']")
        account = "We are two restaurant workers and want to leave."
        page.fill("#id_account", account)

        # First an SVG: refused, and the page comes back with the text kept.
        page.set_input_files(
            "#id_attachments",
            files=[
                {"name": "map.svg", "mimeType": "image/svg+xml", "buffer": samples.SVG_WITH_SCRIPT}
            ],
        )
        with page.expect_navigation():
            page.click("#send")
        assert "only photos" in (page.text_content("#request-form") or "")
        assert page.input_value("#id_account") == account
        assert page.input_value("#id_name_1") == "Ri Yong-ho"
        assert Request.objects.count() == 0

        # Then the photo.
        page.set_input_files(
            "#id_attachments",
            files=[{"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": photo}],
        )
        with page.expect_navigation():
            page.click("#send")
        receipt = (page.text_content("#receipt") or "").strip()
        assert len(receipt.replace("-", "")) == 20
        assert context.cookies() == []
        assert not [text for text in console if "Content Security Policy" in text]
    finally:
        context.close()

    request = Request.objects.get()
    assert request.people_count == 2 and request.cases.count() == 2
    assert Attachment.objects.filter(request=request).count() == 1
    [row] = attachment_rows(ctx=ctx_for(dave), user=dave, request=request)
    assert row.name == "IMG_0042.jpg" and "gps" in row.removed
    cleaned = attachment_download(ctx=ctx_for(dave), user=dave, attachment=row.attachment)
    assert b"MarkerCam" not in cleaned.content
