"""Messages on the staff side: the request and case pages, and the API."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from haven.api.services import api_token_create
from haven.audit.models import AuditEntry
from haven.cases.models import Request
from haven.messaging.models import Author, Message
from haven.portal.conversation import requester_message_add, requester_open
from haven.portal.services import Submission, portal_request_create
from tests.factories import PASSWORD, login


@pytest.fixture
def asked(dave) -> tuple[Request, str]:
    submission = Submission(
        names=["Kim"], country="CN", region="", urgency=3, account="Help us.", contact=""
    )
    return portal_request_create(submission=submission, form_token="web")


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, password=PASSWORD)}")
    return client


def test_the_request_page_shows_the_conversation_and_sends(client, asked, dave) -> None:
    request, receipt = asked
    requester_message_add(receipt, "We are hiding.", form_token="a")
    login(client, dave)
    page = client.get(reverse("web:request", args=[request.pk])).content.decode()
    assert 'id="messages"' in page and "We are hiding." in page
    response = client.post(
        reverse("web:request_message", args=[request.pk]), {"body": "Stay where you are."}
    )
    assert response.status_code == 302
    found = requester_open(receipt)
    assert found is not None and found.messages[-1].body == "Stay where you are."
    assert AuditEntry.objects.filter(action="message.send").count() == 1


def test_the_case_page_shows_and_sends_too(client, asked, dave) -> None:
    request, receipt = asked
    case = request.cases.get()
    login(client, dave)
    response = client.post(
        reverse("web:case_message", args=[case.pk]), {"body": "Hello from the case."}
    )
    assert response.status_code == 302
    page = client.get(reverse("web:case", args=[case.pk])).content.decode()
    assert "Hello from the case." in page


def test_an_empty_message_is_refused_on_the_page(client, asked, dave) -> None:
    request, _receipt = asked
    login(client, dave)
    response = client.post(reverse("web:request_message", args=[request.pk]), {"body": ""})
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_a_caseworker_without_a_grant_gets_404(client, asked, carol) -> None:
    request, receipt = asked
    requester_message_add(receipt, "Secret detail.", form_token="a")
    login(client, carol)
    assert client.get(reverse("web:request", args=[request.pk])).status_code == 404
    response = client.post(reverse("web:request_message", args=[request.pk]), {"body": "Hi"})
    assert response.status_code == 404
    assert Message.objects.count() == 1


def test_the_api_lists_and_sends(asked, dave, carol) -> None:
    request, receipt = asked
    requester_message_add(receipt, "From the requester.", form_token="a")
    api = _api(dave)
    sent = api.post(
        reverse("api-message-send", args=[request.pk]), {"body": "From intake."}, format="json"
    )
    assert sent.status_code == 201, sent.content
    assert sent.json()["author_kind"] == Author.STAFF and sent.json()["body"] == "From intake."
    listed = api.get(reverse("api-message-list", args=[request.pk]))
    assert listed.status_code == 200
    assert [m["body"] for m in listed.json()["results"]] == ["From the requester.", "From intake."]
    # Bad input: clear 400, nothing stored.
    for body in ({"body": ""}, {"body": "x" * 5001}, {"body": 3}, {"text": "typo"}, {}):
        response = api.post(reverse("api-message-send", args=[request.pk]), body, format="json")
        assert response.status_code == 400
    assert Message.objects.count() == 2
    # Need to know.
    other = _api(carol)
    assert other.get(reverse("api-message-list", args=[request.pk])).status_code == 404
    assert (
        other.post(
            reverse("api-message-send", args=[request.pk]), {"body": "x"}, format="json"
        ).status_code
        == 404
    )
