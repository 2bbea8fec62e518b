"""A staff form that stores something, sent twice (a double click, a resend, a retry), is
stored once and the second answer says so (haven.once); without its token it is stored as
before."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from haven.audit.models import AuditEntry
from haven.cases.models import Note, Request
from haven.messaging.models import Message
from haven.portal.services import Submission, portal_request_create
from tests.factories import login, make_case
from tests.web.helpers import request_form, snapshot

SENT_TWICE = "This form was sent twice"


def _once(page: str, action: str) -> str:
    """The one-time token of the form posting to ``action`` on ``page``."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert form is not None, action
    token = re.search(r'name="once" value="([^"]+)"', form.group(1))
    assert token is not None
    return token.group(1)


@pytest.mark.django_db
def test_a_new_request_sent_twice_is_recorded_once(client, alice) -> None:
    login(client, alice)
    page = client.get(reverse("web:request_new")).content.decode()
    token = re.search(r'name="once" value="([^"]+)"', page)
    assert token is not None
    data = request_form(1) | {"once": token.group(1)}
    assert client.post(reverse("web:request_new"), data).status_code == 302
    before, audited = snapshot(), AuditEntry.objects.count()
    again = client.post(reverse("web:request_new"), data)
    assert again.status_code == 302 and again.url == reverse("web:requests")
    assert snapshot() == before and AuditEntry.objects.count() == audited
    assert Request.objects.count() == 1
    assert SENT_TWICE in client.get(again.url).content.decode()


@pytest.mark.django_db
def test_a_new_request_refused_for_bad_input_can_be_sent_again_with_its_token(
    client, alice
) -> None:
    login(client, alice)
    page = client.get(reverse("web:request_new")).content.decode()
    token = re.search(r'name="once" value="([^"]+)"', page)
    assert token is not None
    refused = client.post(
        reverse("web:request_new"), request_form(1, account="") | {"once": token.group(1)}
    )
    assert refused.status_code == 400 and Request.objects.count() == 0
    fixed = client.post(reverse("web:request_new"), request_form(1) | {"once": token.group(1)})
    assert fixed.status_code == 302 and Request.objects.count() == 1


@pytest.mark.django_db
def test_a_note_sent_twice_is_added_once(client, alice, ctx) -> None:
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    action = reverse("web:case_note", args=[case.pk])
    token = _once(client.get(reverse("web:case", args=[case.pk])).content.decode(), action)
    for _ in range(2):
        answer = client.post(action, {"text": "Called the broker.", "once": token}, follow=True)
        assert answer.status_code == 200
    assert SENT_TWICE in answer.content.decode()
    assert Note.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_a_message_sent_twice_reaches_the_requester_once(client, dave) -> None:
    asked, _receipt = portal_request_create(
        submission=Submission(
            names=["Kim"], country="CN", region="", urgency=3, account="Help us.", contact=""
        ),
        form_token="web",
    )
    login(client, dave)
    action = reverse("web:request_message", args=[asked.pk])
    token = _once(client.get(reverse("web:request", args=[asked.pk])).content.decode(), action)
    for _ in range(2):
        answer = client.post(action, {"body": "Stay where you are.", "once": token}, follow=True)
        assert answer.status_code == 200
    assert SENT_TWICE in answer.content.decode()
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_forms_without_a_token_are_stored_as_before(client, alice, ctx) -> None:
    """API clients and pages older than a token's lifetime send none: nothing is refused."""
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    for once in ("", "forged-token"):
        answer = client.post(
            reverse("web:case_note", args=[case.pk]), {"text": "Note", "once": once}
        )
        assert answer.status_code == 302
    assert Note.objects.filter(case=case).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_spent_token_is_committed_with_the_note(client, alice, ctx) -> None:
    """Each POST commits for real: the second one finds the first's committed token row."""
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    action = reverse("web:case_note", args=[case.pk])
    token = _once(client.get(reverse("web:case", args=[case.pk])).content.decode(), action)
    first = client.post(action, {"text": "Once.", "once": token})
    second = client.post(action, {"text": "Once.", "once": token})
    assert first.status_code == second.status_code == 302
    assert Note.objects.filter(case=case).count() == 1
