"""The requester portal end to end through Django's test client."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from haven import once
from haven.audit.models import AuditEntry
from haven.cases import selectors
from haven.cases.journey import State
from haven.cases.models import Case, Channel, Group, JourneyEvent, Person, Request
from haven.crypto import MissingKeyError
from haven.messaging.services import message_send
from haven.portal import limits, services
from haven.portal.models import Receipt, UsedFormToken
from haven.portal.receipts import receipt_normalise
from haven.vault.models import SearchIndexPending
from haven.vault.sealed import payload_read
from tests.factories import ctx_for, login
from tests.portal.helpers import (
    check_status,
    hidden,
    receipt_of,
    request_form,
    status_token,
    submit,
)


def _stored() -> tuple[int, int, int, int]:
    return (
        Request.objects.count(),
        Case.objects.count(),
        Person.objects.count(),
        Receipt.objects.count(),
    )


# --- Pages, language, headers, cookies -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "portal:home",
        "portal:ask",
        "portal:status",
        "portal:home-en",
        "portal:status-en",
        "portal:home-zh-hans",
        "portal:ask-zh-hans",
    ],
)
def test_pages_set_no_cookie_strict_csp_and_no_referrer(client, name, settings) -> None:
    # The optional proof-of-work script is tested in test_pow_flow.py; off here.
    settings.HAVEN_PORTAL_POW_BITS = 0
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert not response.cookies
    csp = response.headers["Content-Security-Policy"]
    for part in (
        "default-src 'none'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ):
        assert part in csp
    assert "script" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert len(response.content) < 8_000  # small pages for slow phones


@pytest.mark.django_db
def test_korean_by_default_english_on_request_and_a_plain_link_between(client) -> None:
    korean = client.get(reverse("portal:home"), headers={"accept-language": "en"})
    assert '<html lang="ko">' in korean.content.decode()
    assert "도움 요청하기" in korean.content.decode()
    assert f'href="{reverse("portal:home-en")}"' in korean.content.decode()
    english = client.get(reverse("portal:home-en"))
    assert "Ask for help" in english.content.decode()
    assert f'href="{reverse("portal:home")}"' in english.content.decode()
    assert not english.cookies


@pytest.mark.django_db
def test_simplified_chinese_has_its_own_path_and_links_to_the_other_two_languages(client) -> None:
    response = client.get(reverse("portal:home-zh-hans"), headers={"accept-language": "ko"})
    html = response.content.decode()
    assert reverse("portal:home-zh-hans") == "/portal/zh/"
    assert '<html lang="zh-hans">' in html
    assert response.headers["Content-Language"] == "zh-hans"
    assert "请求帮助" in html or "寻求帮助" in html
    assert f'href="{reverse("portal:home")}"' in html and "한국어" in html
    assert f'href="{reverse("portal:home-en")}"' in html and "English" in html
    assert not response.cookies
    korean = client.get(reverse("portal:ask")).content.decode()
    assert f'href="{reverse("portal:ask-zh-hans")}"' in korean and "简体中文" in korean


@pytest.mark.staff_pages
@pytest.mark.django_db
def test_simplified_chinese_is_not_offered_on_the_staff_side_whose_pages_are_not_translated(
    client,
) -> None:
    # The staff language menu lists settings.LANGUAGES; a browser asking for Chinese gets the
    # default rather than half-translated staff pages.
    response = client.get("/login/", headers={"accept-language": "zh-hans"})
    assert response.status_code == 200
    assert response.headers.get("Content-Language") != "zh-hans"


@pytest.mark.django_db
def test_the_number_of_people_chooses_the_rows_without_javascript(client) -> None:
    html = client.get(reverse("portal:ask-en"), {"people": "3"}).content.decode()
    assert all(f'name="name_{i}"' in html for i in range(3)) and 'name="name_3"' not in html
    assert 'name="name_1"' not in client.get(reverse("portal:ask-en")).content.decode()
    many = client.get(reverse("portal:ask-en"), {"people": "999"}).content.decode()
    assert 'name="name_9"' in many and 'name="name_10"' not in many
    assert client.get(reverse("portal:ask-en"), {"people": "x"}).status_code == 200


# --- Asking for help ----------------------------------------------------------------------------


@pytest.mark.staff_pages
@pytest.mark.django_db
def test_a_request_for_two_people_is_stored_sealed_and_reaches_the_intake_inbox(
    client, dave, alice
) -> None:
    response = submit(
        client,
        ["김선희", "Ri Yong-ho"],
        account="우리는 식당에서 일합니다. We want to leave.",
        contact="+86 138 0013 8000",
        region="Ningbo",
    )
    assert response.status_code == 200
    assert not response.cookies
    receipt = receipt_of(response)

    request = Request.objects.get()
    assert request.channel == Channel.DIRECT_LINE and request.created_by is None
    assert request.people_count == 2
    assert Case.objects.filter(request=request, state=State.RECEIVED).count() == 2
    assert Group.objects.filter(request=request).count() == 1
    assert JourneyEvent.objects.filter(case__request=request, recorded_by=None).count() == 2

    # The intake officer opens it with their keys.
    ctx = ctx_for(dave)
    data = payload_read(ctx=ctx, record=request)
    assert data["account"].startswith("우리는 식당") and data["contact"] == "+86 138 0013 8000"
    names = sorted(
        payload_read(ctx=ctx, record=case.person)["name_hangul"]
        or payload_read(ctx=ctx, record=case.person)["name_romanized"]
        for case in request.cases.select_related("person")
    )
    assert names == ["Ri Yong-ho", "김선희"]
    assert request in selectors.request_list(user=dave)
    login(client, dave)
    inbox = client.get(reverse("web:requests"))
    assert inbox.status_code == 200 and str(request.pk) in inbox.content.decode()

    # A caseworker outside intake holds no key for it; the people's search tokens wait.
    event = JourneyEvent.objects.filter(case__request=request).first()
    assert payload_read(ctx=ctx, record=event)["region"] == "Ningbo"
    assert SearchIndexPending.objects.count() == 2
    # The receipt is kept only as a digest; the audit entry holds counts only.
    stored = Receipt.objects.get(request=request)
    assert bytes(stored.digest) != receipt.encode()
    entry = AuditEntry.objects.get(action="portal.request")
    assert entry.actor_id is None and entry.detail["people"] == 2
    assert receipt not in str(entry.detail)


@pytest.mark.django_db
def test_a_caseworker_of_another_team_cannot_open_a_portal_request(client, dave, carol) -> None:
    submit(client, ["Kim"])
    with pytest.raises(MissingKeyError):
        payload_read(ctx=ctx_for(carol), record=Request.objects.get())


@pytest.mark.django_db
def test_validation_errors_are_kind_translated_and_store_nothing(client, org) -> None:
    response = submit(client, ["", ""], account="", lang="en")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please give a name for this person (a nickname is fine)." in html
    assert "Please fill this in." in html
    assert "Nothing has been sent yet." in html
    korean = submit(client, [""], account="")
    assert "이 사람의 이름을 적어 주세요" in korean.content.decode()
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_what_was_typed_is_kept_on_an_error_page(client, org) -> None:
    response = submit(client, ["Kim", ""], account="Kept text", lang="en")
    assert response.status_code == 400
    assert "Kept text" in response.content.decode() and 'value="Kim"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("account", "가" * 10_000, "This is too long: at most 5000 characters, and it has 10000."),
        ("name_0", "x" * 10_000, "This is too long: at most 200 characters"),
        ("account", "line\x00null", "invisible control characters"),
        ("contact", "bell\x07", "invisible control characters"),
        ("name_0", "esc\x1b[31m", "invisible control characters"),
        ("urgency", "99", "Select a valid choice"),
        ("country", "XX", "Select a valid choice"),
    ],
)
def test_hostile_fields_get_clear_errors_and_store_nothing(client, org, field, value, message):
    response = submit(client, ["Kim"], lang="en", **{field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_huge_body_is_refused_before_it_is_read(client, org) -> None:
    data = request_form(client)
    data.update({"name_0": "Kim", "urgency": "2", "account": "x" * 300_000})
    response = client.post(reverse("portal:ask-en"), data)
    assert response.status_code == 413
    assert "too long" in response.content.decode()
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe\x00garbage=%%%&&&", "application/x-www-form-urlencoded"),
        (
            b"--x\r\nContent-Disposition: form-data; name=\r\n\r\n",
            "multipart/form-data; boundary=x",
        ),
        (b'{"name_0": "Kim"}', "application/json"),
        (b"&".join(b"f%d=1" % i for i in range(3_000)), "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_posts_get_a_clear_error_and_store_nothing(client, org, body, content_type):
    response = client.post(reverse("portal:ask-en"), body, content_type=content_type)
    assert response.status_code in (400, 413)
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_forged_or_stale_form_token_stores_nothing_and_offers_a_fresh_form(client, org) -> None:
    response = submit(client, ["Kim"], lang="en", token="forged:token:value")
    assert response.status_code == 400
    assert "open for a long time" in response.content.decode()
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "https://evil.example"},
        {"origin": "http://testserver.evil.example"},
    ],
)
def test_cross_site_posts_are_refused(client, org, headers) -> None:
    data = request_form(client)
    data.update({"name_0": "Kim", "urgency": "2", "account": "help", "country": "CN"})
    response = client.post(reverse("portal:ask-en"), data, headers=headers)
    assert response.status_code == 403
    assert "another website" in response.content.decode()
    assert _stored() == (0, 0, 0, 0)
    refused = client.post(
        reverse("portal:status-en"),
        {"token": status_token(client), "receipt": "12345678901234567890"},
        headers=headers,
    )
    assert refused.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "same-origin", "origin": "null"},  # a browser under no-referrer
        {"origin": "http://testserver"},
        {},  # no header at all: an old browser, or a script (flood limits apply)
    ],
)
def test_same_origin_posts_are_accepted(client, org, headers) -> None:
    data = request_form(client)
    data.update({"name_0": "Kim", "urgency": "2", "account": "help", "country": "CN"})
    assert client.post(reverse("portal:ask-en"), data, headers=headers).status_code == 200
    assert Request.objects.count() == 1


# --- The receipt ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_receipt_is_shown_once_and_a_resent_form_does_not_file_twice(client, org) -> None:
    data = request_form(client)
    data.update({"name_0": "Kim", "urgency": "2", "account": "help", "country": "TH"})
    first = client.post(reverse("portal:ask-en"), data)
    receipt = receipt_of(first)
    # Refreshing the page re-sends the same form: nothing new stored, no receipt shown.
    again = client.post(reverse("portal:ask-en"), data)
    assert again.status_code == 200
    assert "already received" in again.content.decode()
    assert receipt not in again.content.decode() and 'id="receipt"' not in again.content.decode()
    assert Request.objects.count() == 1


@pytest.mark.django_db
def test_every_blank_form_carries_its_own_token_in_an_otherwise_identical_page(client, org) -> None:
    # The blank form is rendered once per process and served with a fresh token each time.
    pages = [client.get(reverse("portal:ask-en"), {"people": "2"}).content.decode() for _ in "ab"]
    tokens = [hidden(page, "token") for page in pages]
    assert tokens[0] != tokens[1]
    assert pages[0].replace(tokens[0], "") == pages[1].replace(tokens[1], "")
    assert 'name="name_1"' in pages[0] and "HAVEN-SLOT" not in pages[0]
    for token in tokens:  # each one files a request, once
        data = {"token": token, "people": "2", "name_0": "Kim", "name_1": "Ri"}
        data |= {"country": "CN", "region": "", "urgency": "3", "account": "help", "contact": ""}
        assert 'id="receipt"' in client.post(reverse("portal:ask-en"), data).content.decode()
    assert Request.objects.count() == 2
    korean = client.get(reverse("portal:ask"), {"people": "2"}).content.decode()
    chinese = client.get(reverse("portal:ask-zh-hans"), {"people": "2"}).content.decode()
    assert '<html lang="ko">' in korean and '<html lang="zh-hans">' in chinese


@pytest.mark.django_db
def test_each_receipt_page_shows_its_own_receipt_and_state(client, org) -> None:
    first, second = (submit(client, ["Kim"], lang="en") for _ in "ab")
    assert receipt_of(first) != receipt_of(second)
    for page in (first, second):
        html = page.content.decode()
        assert "HAVEN-SLOT" not in html
        ticked = client.post(
            reverse("portal:receipt-en"), {"state": hidden(html, "state"), "saved": "on"}
        )
        assert 'id="continue"' in ticked.content.decode()


def test_a_page_slot_takes_only_plain_values() -> None:
    from django.http import HttpResponse

    from haven.portal.views import _page_once

    with pytest.raises(ValueError, match="slot"):
        _page_once(("test-slot",), lambda: HttpResponse("<p>SLOT</p>"), {"SLOT": "<script>"})
    page = _page_once(("test-slot",), lambda: HttpResponse("<p>SLOT</p>"), {"SLOT": "a-1:b_2"})
    assert page.content == b"<p>a-1:b_2</p>"


@pytest.mark.django_db
def test_going_on_needs_the_saved_confirmation(client, org) -> None:
    page = submit(client, ["Kim"], lang="en")
    receipt = receipt_of(page)
    html = page.content.decode()
    assert 'id="continue"' not in html  # no way on before confirming
    assert f'href="{reverse("portal:home")}"' not in html  # not even the language link
    state = hidden(html, "state")
    unticked = client.post(reverse("portal:receipt-en"), {"state": state})
    assert unticked.status_code == 400
    assert receipt_of(unticked) == receipt
    assert "Please save the number first" in unticked.content.decode()
    ticked = client.post(reverse("portal:receipt-en"), {"state": state, "saved": "on"})
    assert ticked.status_code == 200
    assert 'id="continue"' in ticked.content.decode()
    assert receipt not in ticked.content.decode()
    # A forged or missing state shows no receipt.
    forged = client.post(reverse("portal:receipt-en"), {"state": "x", "saved": "on"})
    assert "cannot be shown again" in forged.content.decode()
    assert client.get(reverse("portal:receipt-en")).status_code == 200


@pytest.mark.django_db
def test_coming_back_with_the_receipt_shows_the_coarse_status_and_last_use(
    client, alice, dave
) -> None:
    receipt = receipt_of(submit(client, ["Kim", "Ri"], lang="en"))
    first = check_status(client, receipt)
    assert first.status_code == 200
    assert 'id="status-received"' in first.content.decode()
    assert "first time" in first.content.decode()
    second = check_status(client, receipt.replace("-", " "))
    assert "last used on" in second.content.decode()
    assert Receipt.objects.get().last_used_at.second == 0  # kept to the minute only

    request = Request.objects.get()
    case = request.cases.first()
    Case.objects.filter(pk=case.pk).update(state=State.VERIFYING)
    assert 'id="status-looked_at"' in check_status(client, receipt).content.decode()
    Case.objects.filter(pk=case.pk).update(state=State.REFERRED)
    assert 'id="status-in_touch"' in check_status(client, receipt).content.decode()
    Case.objects.filter(pk=case.pk).update(state=State.DETAINED)  # never told through the portal
    html = check_status(client, receipt).content.decode()
    assert 'id="status-looked_at"' in html and "etained" not in html


@pytest.mark.django_db
def test_once_staff_have_written_the_status_no_longer_says_waiting(client, dave) -> None:
    receipt = receipt_of(submit(client, ["Kim"], lang="en"))
    assert 'id="status-received"' in check_status(client, receipt).content.decode()
    request = Request.objects.get()
    message_send(ctx=ctx_for(dave), actor=dave, request=request, body="We read it.")
    html = check_status(client, receipt).content.decode()
    assert 'id="status-looked_at"' in html and "We read it." in html
    assert Request.objects.get().status == "new"  # the request itself is still untriaged


@pytest.mark.django_db
def test_full_width_digits_find_the_request(client, org) -> None:
    receipt = receipt_of(submit(client, ["Kim"], lang="en"))
    wide = "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else "－" for ch in receipt)
    assert receipt_normalise(wide) == receipt.replace("-", "")
    assert 'id="status-received"' in check_status(client, wide).content.decode()


@pytest.mark.django_db
def test_a_wrong_receipt_fails_kindly_and_is_counted_under_its_prefix(client, org) -> None:
    malformed = check_status(client, "12345")
    assert malformed.status_code == 400 and "20 digits" in malformed.content.decode()
    assert limits.receipt_failures.failures(0) == 0  # not a receipt: nothing to count
    wrong = check_status(client, "0000-0000-0000-0000-0000")
    assert wrong.status_code == 400
    assert "could not find a request" in wrong.content.decode()
    assert limits.receipt_failures.failures(0) == 1


@pytest.mark.django_db
def test_submissions_per_process_are_limited_with_a_kind_page(client, org, settings) -> None:
    settings.HAVEN_PORTAL_SUBMISSIONS_PER_MINUTE = 2
    assert submit(client, ["Kim"], lang="en").status_code == 200
    assert submit(client, ["Kim"], lang="en").status_code == 200
    flooded = submit(client, ["Kim"], lang="en")
    assert flooded.status_code == 429
    assert "Nothing was lost and nothing was stored" in flooded.content.decode()
    assert Request.objects.count() == 2
    limits.submissions.reset()


@pytest.mark.django_db
def test_without_an_intake_key_nothing_is_acknowledged(client) -> None:
    response = submit(client, ["Kim"], lang="en")
    assert response.status_code == 503
    assert 'id="receipt"' not in response.content.decode()
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_crash_while_storing_leaves_nothing(client, org, monkeypatch) -> None:
    from haven.portal import services

    def boom(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "audit_record", boom)
    client.raise_request_exception = False
    response = submit(client, ["Kim", "Ri"], lang="en")
    assert response.status_code == 500
    assert _stored() == (0, 0, 0, 0)
    assert Group.objects.count() == 0 and JourneyEvent.objects.count() == 0


# --- Nothing about the client ---------------------------------------------------------------------


def test_no_model_has_a_column_for_a_client_address_or_user_agent() -> None:
    suspicious = ("ip", "addr", "agent", "remote", "user_agent", "useragent")
    portal_fields = [
        field.name.lower()
        for model in apps.get_app_config("portal").get_models()
        for field in model._meta.get_fields()
    ]
    assert not [name for name in portal_fields if any(s in name for s in suspicious)]


@pytest.mark.django_db(transaction=True)
def test_no_receipt_address_or_user_agent_reaches_the_database_or_logs(client, org, caplog):
    from tests.vault.test_no_plaintext import _database_bytes

    address, agent = "203.0.113.77", "MarkerAgent/7.1 (Portal test)"
    caplog.set_level(logging.DEBUG)
    client.defaults.update({"REMOTE_ADDR": address, "HTTP_USER_AGENT": agent})
    receipt = receipt_of(submit(client, ["Kim", "Ri"], lang="en"))
    assert check_status(client, receipt).status_code == 200
    assert check_status(client, "0000-0000-0000-0000-0000").status_code == 400
    assert Request.objects.count() == 1

    at_rest = _database_bytes()
    logs = "\n".join(record.getMessage() for record in caplog.records)
    digits = receipt.replace("-", "")
    for secret in (receipt, digits, address, agent):
        assert secret.encode() not in at_rest, secret
        assert secret not in logs, secret


@pytest.mark.django_db
def test_used_form_tokens_older_than_any_live_form_are_dropped_once_a_minute(
    client, org, monkeypatch
) -> None:
    monkeypatch.setattr(once, "_forgotten_at", -float("inf"))
    long_ago = timezone.now() - services.FORM_TOKEN_LIFETIME - dt.timedelta(minutes=1)
    UsedFormToken.objects.create(digest=b"o" * 32, used_at=long_ago)
    recent = timezone.now() - dt.timedelta(minutes=5)
    UsedFormToken.objects.create(digest=b"r" * 32, used_at=recent)
    submit(client, ["Kim"], lang="en")
    digests = {bytes(d) for d in UsedFormToken.objects.values_list("digest", flat=True)}
    assert b"o" * 32 not in digests and b"r" * 32 in digests and len(digests) == 2
    # Within the minute nothing is swept again: the next submission only adds its own.
    UsedFormToken.objects.create(digest=b"p" * 32, used_at=long_ago)
    submit(client, ["Ri"], lang="en")
    assert UsedFormToken.objects.filter(digest=b"p" * 32).exists()
    assert UsedFormToken.objects.count() == 4
