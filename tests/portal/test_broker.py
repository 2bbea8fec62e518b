"""The broker channel: credentials, the broker's pages, their own requests only, suspension."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from haven.audit.models import AuditEntry
from haven.brokers.credentials import broker_credential_issue, broker_login
from haven.brokers.models import BrokerCredential, BrokerSession, BrokerStatus
from haven.brokers.selectors import broker_record
from haven.brokers.services import broker_set_status
from haven.cases.models import Channel, Request
from haven.cases.selectors import request_list
from haven.messaging.models import Author, Message
from haven.messaging.selectors import message_list
from haven.messaging.services import message_send
from haven.portal.broker_views import COOKIE
from tests.factories import ctx_for, login, make_broker, make_request
from tests.portal.helpers import hidden


@pytest.fixture
def broker(alice):
    return make_broker(ctx=ctx_for(alice), actor=alice, alias="Mr Jang")


@pytest.fixture
def credential(alice, broker) -> str:
    return broker_credential_issue(ctx=ctx_for(alice), actor=alice, broker=broker)


def _login(client, credential: str):
    html = client.get(reverse("portal:broker_login-en")).content.decode()
    return client.post(
        reverse("portal:broker_login-en"),
        {"token": hidden(html, "token"), "credential": credential},
    )


def _ask(client, names: list[str], account: str = "Two workers want to leave."):
    html = client.get(reverse("portal:broker_ask-en"), {"people": len(names)}).content.decode()
    data = {"people": hidden(html, "people"), "token": hidden(html, "token")}
    data.update({f"name_{i}": n for i, n in enumerate(names)})
    data.update({"country": "CN", "region": "", "urgency": "3", "account": account})
    return client.post(reverse("portal:broker_ask-en"), data)


def test_the_credential_is_shown_once_and_stored_only_as_a_digest(alice, broker, credential):
    assert re.fullmatch(r"([2-9a-z]{5}-){4}[2-9a-z]{5}", credential)
    row = BrokerCredential.objects.get(broker=broker)
    raw = credential.replace("-", "").encode()
    for value in (row.digest, row.public_key, row.wrapped_private):
        assert raw not in bytes(value) and credential.encode() not in bytes(value)
    assert AuditEntry.objects.filter(action="broker.credential_issue").count() == 1
    # Issuing again replaces it: the old one stops working.
    newer = broker_credential_issue(ctx=ctx_for(alice), actor=alice, broker=broker)
    assert broker_login(credential) is None and broker_login(newer) is not None


@pytest.mark.parametrize("who", ["bob", "dave", "erin", "heidi"])
def test_only_supervisors_issue_credentials(who, broker, request) -> None:
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        broker_credential_issue(ctx=ctx_for(user), actor=user, broker=broker)
    assert not BrokerCredential.objects.exists()


def test_login_sets_a_strict_short_cookie_only_after_the_credential(client, credential) -> None:
    page = client.get(reverse("portal:broker_login-en"))
    assert page.status_code == 200 and not page.cookies
    response = _login(client, credential.upper().replace("-", " "))  # forgiving typing
    assert response.status_code == 302
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert 0 < int(cookie["max-age"]) <= 30 * 60
    assert credential not in cookie.value
    assert BrokerSession.objects.count() == 1


@pytest.mark.parametrize("typed", ["", "nonsense", "x" * 500, "2" * 25])
def test_wrong_credentials_are_refused_and_counted(client, credential, typed) -> None:
    from haven.portal import limits
    from haven.portal.limits import broker_failures, credential_bucket, receipt_failures

    response = _login(client, typed)
    assert response.status_code == 400
    assert COOKIE not in response.cookies
    assert not BrokerSession.objects.exists()
    counted = broker_failures.failures(credential_bucket("2" * 25))
    assert counted == (1 if typed == "2" * 25 else 0)  # well-formed but wrong: counted
    # Apart from the requesters' receipts.
    assert all(receipt_failures.failures(b) == 0 for b in range(0, limits.BUCKETS, 997))


def test_broker_pages_without_a_session_lead_to_login(client, credential) -> None:
    for name in ("portal:broker_home-en", "portal:broker_ask-en", "portal:broker_request-en"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"] == reverse("portal:broker_login-en")


def test_a_broker_files_for_two_people_and_talks_with_the_caseworker(
    client, alice, dave, broker, credential
) -> None:
    _login(client, credential)
    response = _ask(client, ["Kim", "Ri"])
    assert response.status_code == 302
    request = Request.objects.get()
    assert request.channel == Channel.BROKER and request.broker_id == broker.pk
    assert request.people_count == 2
    # It lands in the intake inbox, and feeds the broker's record.
    assert request in list(request_list(user=dave, status="new"))
    assert broker_record(broker=broker).requests == 1
    assert AuditEntry.objects.filter(action="broker.request").count() == 1
    # The broker sees the coarse status only.
    home = client.get(reverse("portal:broker_home-en")).content.decode()
    assert "Received" in home and "Two workers" not in home and "Kim" not in home
    # Staff write; the broker reads and answers.
    message_send(ctx=ctx_for(dave), actor=dave, request=request, body="Where are they now?")
    url = f"{reverse('portal:broker_request-en')}?r={request.pk}"
    page = client.get(url).content.decode()
    assert "Where are they now?" in page and "dave" not in page
    sent = client.post(
        reverse("portal:broker_request-en"),
        {"token": hidden(page, "token"), "request": str(request.pk), "body": "Still in Ningbo."},
    )
    assert sent.status_code == 302
    views = message_list(ctx=ctx_for(dave), user=dave, request=request)
    assert [(v.author_kind, v.body) for v in views] == [
        (Author.STAFF, "Where are they now?"),
        (Author.BROKER, "Still in Ningbo."),
    ]
    assert Message.objects.get(author_kind=Author.BROKER).broker_id == broker.pk
    assert AuditEntry.objects.filter(action="broker.message").count() == 1


def test_the_brokers_list_says_being_looked_at_once_staff_have_written(
    client, dave, broker, credential
) -> None:
    _login(client, credential)
    _ask(client, ["Kim"])
    _ask(client, ["Ri"])
    first, second = Request.objects.order_by("received_at")
    message_send(ctx=ctx_for(dave), actor=dave, request=first, body="We read your request.")
    home = client.get(reverse("portal:broker_home-en")).content.decode()
    assert home.count("Received") == 1  # the other request, which nobody has answered
    assert home.count("Being looked at") == 1


def test_a_broker_form_sent_twice_files_one_request(client, broker, credential) -> None:
    _login(client, credential)
    html = client.get(reverse("portal:broker_ask-en"), {"people": 1}).content.decode()
    data = {"people": hidden(html, "people"), "token": hidden(html, "token"), "name_0": "Kim"}
    data.update({"country": "CN", "region": "", "urgency": "3", "account": "One worker."})
    first = client.post(reverse("portal:broker_ask-en"), data)
    again = client.post(reverse("portal:broker_ask-en"), data)
    assert first.status_code == 302
    assert again.status_code in (200, 302)
    assert Request.objects.count() == 1
    assert AuditEntry.objects.filter(action="broker.request").count() == 1


def test_a_broker_cannot_see_another_brokers_request(client, alice, dave, credential) -> None:
    other = make_broker(ctx=ctx_for(alice), actor=alice, alias="Ms Choe")
    theirs = make_request(ctx=ctx_for(dave), actor=dave, channel=Channel.BROKER, broker=other)
    direct = make_request(ctx=ctx_for(dave), actor=dave)
    _login(client, credential)
    for record in (theirs, direct):
        response = client.get(f"{reverse('portal:broker_request-en')}?r={record.pk}")
        assert response.status_code == 404
        html = client.get(reverse("portal:broker_home-en")).content.decode()
        assert str(record.pk) not in html
        page = client.get(reverse("portal:broker_login-en")).content.decode()
        posted = client.post(
            reverse("portal:broker_request-en"),
            {"token": hidden(page, "token"), "request": str(record.pk), "body": "Hi"},
        )
        assert posted.status_code == 404
    for bad in ("not-a-uuid", "", "'; DROP TABLE x;--"):
        assert client.get(reverse("portal:broker_request-en"), {"r": bad}).status_code == 404
    assert not Message.objects.exists()


def test_a_staff_recorded_broker_request_is_theirs_too(client, alice, dave, broker, credential):
    record = make_request(ctx=ctx_for(dave), actor=dave, channel=Channel.BROKER, broker=broker)
    _login(client, credential)
    html = client.get(reverse("portal:broker_home-en")).content.decode()
    assert str(record.pk) in html
    page = client.get(f"{reverse('portal:broker_request-en')}?r={record.pk}").content.decode()
    client.post(
        reverse("portal:broker_request-en"),
        {"token": hidden(page, "token"), "request": str(record.pk), "body": "News: they left."},
    )
    views = message_list(ctx=ctx_for(dave), user=dave, request=record)
    assert [v.body for v in views] == ["News: they left."]


def test_suspending_the_broker_ends_the_credential_and_sessions_at_once(
    client, alice, broker, credential
) -> None:
    _login(client, credential)
    assert client.get(reverse("portal:broker_home-en")).status_code == 200
    broker.refresh_from_db()
    broker_set_status(
        ctx=ctx_for(alice),
        actor=alice,
        broker=broker,
        expected_version=broker.version,
        status=BrokerStatus.SUSPENDED,
    )
    assert client.get(reverse("portal:broker_home-en")).status_code == 302
    assert not BrokerCredential.objects.exists() and not BrokerSession.objects.exists()
    assert _login(client, credential).status_code == 400
    # Reinstating does not bring the old credential back.
    broker.refresh_from_db()
    broker_set_status(
        ctx=ctx_for(alice),
        actor=alice,
        broker=broker,
        expected_version=broker.version,
        status=BrokerStatus.ACTIVE,
    )
    assert broker_login(credential) is None


def test_logout_ends_the_session(client, credential) -> None:
    _login(client, credential)
    html = client.get(reverse("portal:broker_home-en")).content.decode()
    assert 'id="logout"' in html
    response = client.post(reverse("portal:broker_logout-en"))
    assert response.status_code == 302
    assert not BrokerSession.objects.exists()
    assert client.get(reverse("portal:broker_home-en")).status_code == 302


@pytest.mark.staff_pages
def test_staff_issue_a_credential_from_the_broker_page(client, alice, dave, broker) -> None:
    login(client, alice)
    page = client.get(reverse("web:broker", args=[broker.pk])).content.decode()
    assert 'id="issue-credential"' in page
    response = client.post(reverse("web:broker_credential", args=[broker.pk]))
    assert response.status_code == 200
    shown = re.search(r'id="credential">([^<]+)<', response.content.decode())
    assert shown and broker_login(shown.group(1)) is not None
    assert response.headers["Cache-Control"] == "no-store"
    client.logout()
    login(client, dave)
    assert client.post(reverse("web:broker_credential", args=[broker.pk])).status_code == 403


@pytest.mark.staff_pages
def test_a_supervisor_issues_a_code_on_the_broker_page_at_production_costs(
    client, alice, broker, settings
) -> None:
    """The page path with the deployment's key-derivation floors (the test settings lower them):
    issuing used to fail with "the key-derivation cost is not usable" and a 500."""
    login(client, alice)
    settings.HAVEN_KDF_INSECURE_FOR_TESTS = False
    response = client.post(reverse("web:broker_credential", args=[broker.pk]))
    assert response.status_code == 200
    shown = re.search(r"([2-9a-z]{5}-){4}[2-9a-z]{5}", response.content.decode())
    assert shown is not None
    assert BrokerCredential.objects.filter(broker=broker).count() == 1
    broker_client = type(client)()
    assert _login(broker_client, shown.group(0)).status_code == 302
    assert BrokerSession.objects.filter(broker=broker).count() == 1


def test_show_on_the_brokers_form_keeps_what_was_typed(client, credential) -> None:
    """Issue 18, item 4: changing how many people and pressing Show keeps the form's text."""
    _login(client, credential)
    html = client.get(reverse("portal:broker_ask-en")).content.decode()
    data = {
        "people": hidden(html, "people"),
        "token": hidden(html, "token"),
        "people_wanted": "3",
        "show": "1",
        "name_0": "Kim",
        "region": "Yanji",
        "account": "Three restaurant workers.",
    }

    page = client.post(reverse("portal:broker_ask-en"), data).content.decode()

    assert 'name="name_2"' in page and 'value="Kim"' in page and 'value="Yanji"' in page
    assert "Three restaurant workers." in page
    assert Request.objects.count() == 0
