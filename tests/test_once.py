"""One-time form tokens (haven.once): checked, spent once, and never spent by a failed write."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction

from haven import once
from haven.messaging.models import Message
from haven.messaging.services import message_send
from haven.once import AlreadyStoredError, once_token_check, once_token_new, once_token_spend
from haven.portal.forms import form_token_new
from haven.portal.models import UsedFormToken
from haven.portal.services import Submission, portal_request_create
from tests.factories import ctx_for, make_request

pytestmark = pytest.mark.django_db


def test_a_new_token_checks_and_gives_its_random_part() -> None:
    token = once_token_new()
    part = once_token_check(token)
    assert part is not None and part in token and part != token


@pytest.mark.parametrize(
    "value",
    [None, "", 42, ["x"], "x" * 201, "not-signed", "a" * 22 + ":1abc:forged"],
    ids=["none", "empty", "int", "list", "huge", "unsigned", "forged"],
)
def test_anything_but_a_token_of_ours_checks_as_none(value) -> None:
    assert once_token_check(value) is None


def test_a_portal_form_token_is_not_a_staff_one() -> None:
    assert once_token_check(form_token_new()) is None


def test_a_token_older_than_its_lifetime_checks_as_none(monkeypatch) -> None:
    token = once_token_new()
    later = time.time() + once.LIFETIME.total_seconds() + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert once_token_check(token) is None


def test_a_token_is_spent_once_and_the_second_spend_is_refused() -> None:
    part = once_token_check(once_token_new())
    with transaction.atomic():
        once_token_spend(token=part)
    with pytest.raises(AlreadyStoredError), transaction.atomic():
        once_token_spend(token=part)
    assert UsedFormToken.objects.count() == 1


def test_no_token_spends_nothing() -> None:
    once_token_spend(token=None)
    once_token_spend(token=None)
    assert UsedFormToken.objects.count() == 0


def test_a_write_that_fails_after_spending_leaves_the_token_unspent(dave) -> None:
    """message_send spends the token before it finds nobody to write to: the refusal rolls the
    token back with everything else, so the corrected form can still be sent with it."""
    ctx = ctx_for(dave)
    nobody = make_request(ctx=ctx, actor=dave)  # recorded by staff: no requester to write to
    part = once_token_check(once_token_new())
    with pytest.raises(ValidationError):
        message_send(ctx=ctx, actor=dave, request=nobody, body="Hello", once=part)
    assert UsedFormToken.objects.count() == 0
    asked, _receipt = portal_request_create(
        submission=Submission(
            names=["Kim"], country="CN", region="", urgency=3, account="Help.", contact=""
        ),
        form_token="t",
    )
    before = UsedFormToken.objects.count()
    message_send(ctx=ctx_for(dave), actor=dave, request=asked, body="Hello", once=part)
    assert Message.objects.count() == 1
    assert UsedFormToken.objects.count() == before + 1
    with pytest.raises(AlreadyStoredError):
        message_send(ctx=ctx_for(dave), actor=dave, request=asked, body="Hello", once=part)
    assert Message.objects.count() == 1
