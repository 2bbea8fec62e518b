"""What a requester tripped over (issue 18): "Show" kept nothing, the status page alarmed a normal
visit, a wrong receipt said "nothing has been sent yet", and the Korean button said 발송 where the
text said 보내기."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from haven.cases.models import Request
from tests.portal.helpers import check_status, hidden, receipt_of, submit

pytestmark = pytest.mark.django_db


def test_show_keeps_what_was_typed_and_draws_the_rows(client, org) -> None:
    html = client.get(reverse("portal:ask-en")).content.decode()
    data = {
        "people": hidden(html, "people"),
        "token": hidden(html, "token"),
        "people_wanted": "2",
        "show": "1",
        "name_0": "Kim",
        "country": "CN",
        "region": "Dandong",
        "urgency": "3",
        "account": "We are two and want to leave.",
        "contact": "Signal: @kim",
    }

    response = client.post(reverse("portal:ask-en"), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="name_1"' in page and 'name="name_2"' not in page
    assert 'value="Kim"' in page and 'value="Dandong"' in page and 'value="Signal: @kim"' in page
    assert "We are two and want to leave." in page
    assert re.search(r'<option value="CN" selected>', page)
    assert 'name="people" value="2"' in page
    assert Request.objects.count() == 0  # a redraw stores nothing


def test_the_form_with_more_rows_can_then_be_sent(client, org) -> None:
    html = client.get(reverse("portal:ask-en")).content.decode()
    shown = client.post(
        reverse("portal:ask-en"),
        {"people": "1", "token": hidden(html, "token"), "people_wanted": "2", "show": "1"},
    ).content.decode()
    data = {
        "people": hidden(shown, "people"),
        "token": hidden(shown, "token"),
        "name_0": "Kim",
        "name_1": "Ri",
        "country": "CN",
        "urgency": "3",
        "account": "Two of us.",
    }
    response = client.post(reverse("portal:ask-en"), data)
    assert receipt_of(response)
    assert Request.objects.get().people_count == 2


def test_a_first_visit_with_the_receipt_is_not_told_someone_else_may_have_it(client, org) -> None:
    receipt = receipt_of(submit(client, ["Kim"], lang="en"))

    first = check_status(client, receipt).content.decode()
    second = check_status(client, receipt).content.decode()

    assert "first time" in first and "someone else may have your number" not in first
    assert "last used on" in second and "someone else may have your number" in second


def test_a_wrong_receipt_says_the_number_is_not_known_not_that_nothing_was_sent(
    client, org
) -> None:
    response = check_status(client, "0000-0000-0000-0000-0000")
    page = response.content.decode()
    assert response.status_code == 400
    assert "could not find a request with this number" in page
    assert "Nothing has been sent" not in page


def test_the_korean_send_button_says_what_the_text_tells_to_press(client, org) -> None:
    page = client.get(reverse("portal:ask")).content.decode()
    button = re.search(r'<button type="submit" id="send">([^<]+)</button>', page)
    assert button and button.group(1) == "보내기"
    assert "보내기를 누르면" in page and "발송" not in page
