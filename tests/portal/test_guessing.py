"""Guessing receipts and access codes (issue 17, finding 4): wrong tries make guessing under
their own prefix expensive (a proof-of-work that grows, or a wait), and shut nobody else out —
not the requester with the right receipt, not the brokers."""

from __future__ import annotations

import random

import pytest
from django.urls import reverse

from haven.brokers.credentials import broker_credential_issue
from haven.brokers.models import BrokerSession
from haven.messaging.models import Message
from haven.portal import limits
from haven.portal.broker_views import COOKIE
from haven.portal.pow import pow_solve
from tests.factories import ctx_for, make_broker
from tests.portal.helpers import check_status, hidden, receipt_of, status_token, submit

pytestmark = pytest.mark.django_db


def _wrong(prefix: str = "") -> str:
    rest = "".join(random.choice("0123456789") for _ in range(20 - len(prefix)))
    return prefix + rest


def _spray(client, count: int, *, avoid: str = "") -> None:
    """``count`` wrong receipts from anyone (random ones, never under ``avoid``'s prefix)."""
    for _ in range(count):
        wrong = _wrong()
        while avoid and wrong[:5] == avoid[:5]:
            wrong = _wrong()
        assert check_status(client, wrong).status_code == 400


@pytest.fixture
def receipt(client, org) -> str:
    return receipt_of(submit(client, ["Kim"], lang="en")).replace("-", "")


def test_many_wrong_receipts_from_anyone_do_not_shut_out_the_right_one(client, receipt):
    _spray(client, 60, avoid=receipt)  # twice the old global limit, from one "client"
    answer = check_status(client, receipt)  # no JavaScript, no proof-of-work
    assert answer.status_code == 200
    assert 'id="status-received"' in answer.content.decode()


def test_many_wrong_receipts_do_not_shut_out_brokers(client, receipt, alice):
    _spray(client, 60, avoid=receipt)
    broker = make_broker(ctx=ctx_for(alice), actor=alice, alias="Mr Jang")
    code = broker_credential_issue(ctx=ctx_for(alice), actor=alice, broker=broker)
    html = client.get(reverse("portal:broker_login-en")).content.decode()
    response = client.post(
        reverse("portal:broker_login-en"), {"token": hidden(html, "token"), "credential": code}
    )
    assert response.status_code == 302 and COOKIE in response.cookies


def test_many_wrong_access_codes_do_not_shut_out_requesters_or_other_brokers(
    client, receipt, alice, settings
):
    broker = make_broker(ctx=ctx_for(alice), actor=alice, alias="Mr Jang")
    code = broker_credential_issue(ctx=ctx_for(alice), actor=alice, broker=broker)
    for i in range(60):
        wrong = "".join(random.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(25))
        if wrong[:5] == code.replace("-", "")[:5]:
            continue
        html = client.get(reverse("portal:broker_login-en")).content.decode()
        refused = client.post(
            reverse("portal:broker_login-en"),
            {"token": hidden(html, "token"), "credential": wrong},
        )
        assert refused.status_code == 400, i
    assert check_status(client, receipt).status_code == 200
    html = client.get(reverse("portal:broker_login-en")).content.decode()
    response = client.post(
        reverse("portal:broker_login-en"), {"token": hidden(html, "token"), "credential": code}
    )
    assert response.status_code == 302 and BrokerSession.objects.count() == 1


def test_wrong_codes_under_a_brokers_prefix_make_that_prefix_wait(client, alice, settings):
    settings.HAVEN_PORTAL_RECEIPT_FAILURES_PER_PREFIX = 3
    broker = make_broker(ctx=ctx_for(alice), actor=alice, alias="Mr Jang")
    code = broker_credential_issue(ctx=ctx_for(alice), actor=alice, broker=broker)
    bare = code.replace("-", "")
    for i in range(3):
        html = client.get(reverse("portal:broker_login-en")).content.decode()
        wrong = bare[:5] + ("2" if bare[5] != "2" else "3") * 19 + str(i + 2)
        client.post(
            reverse("portal:broker_login-en"),
            {"token": hidden(html, "token"), "credential": wrong},
        )
    html = client.get(reverse("portal:broker_login-en")).content.decode()
    waited = client.post(
        reverse("portal:broker_login-en"), {"token": hidden(html, "token"), "credential": code}
    )
    assert waited.status_code == 429 and int(waited.headers["Retry-After"]) >= 60
    assert "try again in" in waited.content.decode()
    assert not BrokerSession.objects.exists()


def _under(receipt: str, count: int, client) -> None:
    """``count`` wrong receipts sharing ``receipt``'s first five digits (someone who has seen
    them, say on a photo of the paper)."""
    for _ in range(count):
        wrong = _wrong(receipt[:5])
        if wrong == receipt:
            continue
        response = check_status(client, wrong)
        assert response.status_code in (400, 429)


def test_a_guessed_prefix_needs_a_proof_of_work_that_grows_then_waits(client, receipt, settings):
    settings.HAVEN_PORTAL_RECEIPT_FAILURES_PER_PREFIX = 4
    settings.HAVEN_PORTAL_POW_BITS = 6
    _under(receipt, 4, client)

    # Without JavaScript: the form comes back with the receipt as typed, and a wait.
    waiting = check_status(client, receipt)
    assert waiting.status_code == 429
    html = waiting.content.decode()
    assert "try again in" in html
    assert 'data-pow-bits="6"' in html and "pow.js" in html
    assert waiting.headers["Content-Security-Policy"].endswith("script-src 'self'")
    assert int(waiting.headers["Retry-After"]) >= 60
    assert receipt[:4] in html  # kept as typed, to send again

    # With JavaScript: the browser solves it for the page's token and gets in, once.
    token = hidden(html, "token")
    nonce = pow_solve(token=token, bits=6)
    paid = {"token": token, "receipt": receipt, "pow": nonce}
    answer = client.post(reverse("portal:status-en"), paid)
    assert answer.status_code == 200 and 'id="status-received"' in answer.content.decode()
    assert client.post(reverse("portal:status-en"), paid).status_code == 429  # spent

    # More failures under the prefix: more work (one bit per doubling)...
    _paid_wrong(client, receipt, 4, bits=6)
    assert 'data-pow-bits="7"' in check_status(client, receipt).content.decode()
    # ... and far past the budget, nothing gets in until the windows move on.
    limits_bucket = limits.receipt_bucket(receipt)
    for _ in range(limits.CLOSED_FACTOR * 4):
        limits.receipt_failures.record(limits_bucket)
    closed = check_status(client, receipt)
    assert closed.status_code == 429 and "data-pow-bits" not in closed.content.decode()
    token = status_token(client)
    late = client.post(
        reverse("portal:status-en"),
        {"token": token, "receipt": receipt, "pow": pow_solve(token=token, bits=7)},
    )
    assert late.status_code == 429


def _paid_wrong(client, receipt: str, count: int, *, bits: int) -> None:
    for _ in range(count):
        token = status_token(client)
        wrong = _wrong(receipt[:5])
        response = client.post(
            reverse("portal:status-en"),
            {"token": token, "receipt": wrong, "pow": pow_solve(token=token, bits=bits)},
        )
        assert response.status_code == 400  # looked up, and wrong: counted


def test_with_the_proof_of_work_off_a_guessed_prefix_waits(client, receipt, settings):
    settings.HAVEN_PORTAL_RECEIPT_FAILURES_PER_PREFIX = 2
    settings.HAVEN_PORTAL_POW_BITS = 0
    _under(receipt, 2, client)
    waiting = check_status(client, receipt)
    assert waiting.status_code == 429 and "data-pow-bits" not in waiting.content.decode()
    assert "pow.js" not in waiting.content.decode()


def test_a_wait_on_the_message_form_keeps_what_was_written(client, receipt, settings):
    settings.HAVEN_PORTAL_RECEIPT_FAILURES_PER_PREFIX = 2
    settings.HAVEN_PORTAL_POW_BITS = 6
    page = check_status(client, receipt).content.decode()
    _under(receipt, 2, client)
    before = Message.objects.count()
    response = client.post(
        reverse("portal:status_message-en"),
        {
            "token": hidden(page, "token"),
            "receipt": hidden(page, "receipt"),
            "body": "We reached the border town.",
        },
    )
    assert response.status_code == 429
    html = response.content.decode()
    assert "We reached the border town." in html and "try again in" in html
    assert Message.objects.count() == before
    token = hidden(html, "token")
    sent = client.post(
        reverse("portal:status_message-en"),
        {
            "token": token,
            "receipt": hidden(html, "receipt"),
            "body": "We reached the border town.",
            "pow": pow_solve(token=token, bits=6),
        },
    )
    assert sent.status_code == 200 and Message.objects.count() == before + 1


def test_the_prefix_budget_renews_as_the_windows_move_on(settings):
    settings.HAVEN_PORTAL_RECEIPT_FAILURES_PER_PREFIX = 3
    settings.HAVEN_PORTAL_POW_BITS = 14
    now = [10_000.0 * 600]
    failures = limits.PrefixFailures("receipts", clock=lambda: now[0])
    for _ in range(3):
        failures.record(42)
    gate = failures.gate(42)
    assert gate.bits == 14 and not gate.closed and 600 < gate.retry_after <= 1200
    assert failures.gate(43).free  # the next prefix is untouched
    now[0] += 600  # one window on: the failures are in the previous window, still counted
    assert failures.gate(42).bits == 14
    now[0] += 600  # two windows on: gone
    assert failures.gate(42).free
    for _ in range(3 * limits.CLOSED_FACTOR):
        failures.record(42)
    assert failures.gate(42).closed


def test_the_wait_is_explained_in_korean_and_chinese(client, receipt, settings):
    settings.HAVEN_PORTAL_RECEIPT_FAILURES_PER_PREFIX = 1
    _under(receipt, 1, client)
    for name, words in (
        ("portal:status", "앞자리가 같은 잘못된 접수 번호"),
        ("portal:status-zh-hans", "开头与您的受理号相同的错误号码"),
    ):
        html = client.get(reverse(name)).content.decode()
        answer = client.post(reverse(name), {"token": hidden(html, "token"), "receipt": receipt})
        assert answer.status_code == 429 and words in answer.content.decode()
