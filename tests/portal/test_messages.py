"""Coming back with the receipt: the conversation, adding details, and what is never kept."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from haven.cases.models import Request
from haven.messaging.models import Author, Message
from haven.messaging.services import message_send
from haven.portal import limits
from tests.factories import ctx_for
from tests.portal.helpers import check_status, hidden, receipt_of, submit


@pytest.fixture
def came(client, dave):
    """A request from the portal and its receipt; dave (intake) has replied."""
    receipt = receipt_of(submit(client, ["Kim"]))
    request = Request.objects.get()
    message_send(ctx=ctx_for(dave), actor=dave, request=request, body="Are you safe now?")
    return request, receipt


def _send(client, page_html: str, body: str, **override: str):
    data = {
        "token": hidden(page_html, "token"),
        "receipt": hidden(page_html, "receipt"),
        "body": body,
    }
    data.update(override)
    return client.post(reverse("portal:status_message-en"), data)


def test_the_requester_reads_the_reply_only_after_entering_the_receipt(client, came) -> None:
    _request, receipt = came
    # Nothing about the request is on any page before the receipt is typed.
    assert "Are you safe" not in client.get(reverse("portal:status-en")).content.decode()
    response = check_status(client, receipt)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Are you safe now?" in html
    assert 'id="last-used"' in html
    assert not response.cookies
    # The receipt travels on in a hidden POST field only.
    assert hidden(html, "receipt") == receipt.replace("-", "")
    assert 'method="post"' in html


def test_adding_a_detail_with_the_hidden_receipt(client, came, dave, caplog) -> None:
    request, receipt = came
    caplog.set_level(logging.DEBUG)
    html = check_status(client, receipt).content.decode()
    response = _send(client, html, "We moved to Shenyang yesterday.")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="sent"' in page and "We moved to Shenyang yesterday." in page
    assert not response.cookies
    message = Message.objects.get(author_kind=Author.REQUESTER)
    assert message.request_id == request.pk and b"Shenyang" not in bytes(message.payload)
    # Staff read it on the request page.
    from haven.messaging.selectors import message_list

    bodies = [v.body for v in message_list(ctx=ctx_for(dave), user=dave, request=request)]
    assert bodies == ["Are you safe now?", "We moved to Shenyang yesterday."]
    # The receipt is never logged, in any spelling.
    digits = receipt.replace("-", "")
    assert digits not in caplog.text and receipt not in caplog.text
    # Sending the same page twice stores one message.
    again = _send(client, html, "We moved to Shenyang yesterday.")
    assert again.status_code == 200
    assert Message.objects.filter(author_kind=Author.REQUESTER).count() == 1


def test_a_wrong_hidden_receipt_is_refused_and_counted(client, came) -> None:
    _request, receipt = came
    html = check_status(client, receipt).content.decode()
    before = Message.objects.count()
    response = _send(client, html, "Hello", receipt="12345678123456781234")
    assert response.status_code == 400
    assert "Hello" not in response.content.decode()
    assert Message.objects.count() == before
    assert limits.receipt_failures.failures(limits.receipt_bucket("12345678123456781234")) == 1


@pytest.mark.parametrize(
    ("override", "body"),
    [
        ({"receipt": ""}, "Hello"),  # missing
        ({"receipt": "x" * 5000}, "Hello"),  # huge
        ({"token": "forged"}, "Hello"),
        ({}, ""),
        ({}, "x" * 5_001),
        ({}, "nul\x00byte"),
    ],
)
def test_bad_input_gets_a_clear_error_and_stores_nothing(client, came, override, body) -> None:
    _request, receipt = came
    html = check_status(client, receipt).content.decode()
    before = Message.objects.count()
    response = _send(client, html, body, **override)
    assert response.status_code == 400
    assert Message.objects.count() == before
    page = response.content.decode()
    assert 'class="error' in page or 'class="errors"' in page


def test_a_huge_body_is_refused_before_parsing(client, came, settings) -> None:
    _request, receipt = came
    html = check_status(client, receipt).content.decode()
    response = _send(client, html, "x" * (settings.HAVEN_PORTAL_MAX_BODY_BYTES + 10))
    assert response.status_code == 413
    assert Message.objects.count() == 1


def test_a_get_shows_the_receipt_form(client, came) -> None:
    response = client.get(reverse("portal:status_message"))
    assert response.status_code == 200 and 'id="status-form"' in response.content.decode()


def test_the_conversation_is_in_korean_by_default(client, came) -> None:
    _request, receipt = came
    html = client.get(reverse("portal:status")).content.decode()
    response = client.post(
        reverse("portal:status"), {"token": hidden(html, "token"), "receipt": receipt}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "메시지" in page and "저희 팀" in page and "Are you safe now?" in page
    assert hidden(page, "receipt") == receipt.replace("-", "")
