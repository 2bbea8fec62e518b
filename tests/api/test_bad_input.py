"""The bad-input matrix over the API: each bad input gets a clear 4xx and nothing stored changes.

Hostile text (script tags, SQL fragments, CSV formulas) is not an error: it is stored as given and
returned verbatim in JSON, and nothing is executed.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from django.utils import timezone

from haven.cases.models import Case, Request
from tests.api.conftest import person, request_body, snapshot
from tests.factories import make_broker, make_case, make_request

pytestmark = pytest.mark.django_db

FUTURE = (timezone.now() + dt.timedelta(days=2)).isoformat()
NEXT_YEAR = str(timezone.localdate().year + 1)


@pytest.fixture
def world(ctx, alice, partner):
    case = make_case(ctx=ctx, actor=alice, owner=alice)
    group_request = make_request(ctx=ctx, actor=alice, people=2)
    broker = make_broker(ctx=ctx, actor=alice)
    from haven.referrals.services import referral_create

    referral = referral_create(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        disclosed_fields=["name_romanized"],
    )
    return {
        "case": case.pk,
        "group": group_request.cases.first().group_id,
        "members": [str(c.pk) for c in group_request.cases.all()],
        "request": group_request.pk,
        "broker": broker.pk,
        "partner": partner.pk,
        "referral": referral.pk,
    }


# name: (method, url, body, field expected in errors or None for a non-field 4xx, status)
MATRIX: dict[str, tuple[str, str, Any, str | None, int]] = {
    # missing fields
    "request: empty body": ("post", "/api/requests/", {}, "people", 400),
    "request: no account": (
        "post",
        "/api/requests/",
        {k: v for k, v in request_body().items() if k != "account"},
        "account",
        400,
    ),
    "request: no people": ("post", "/api/requests/", request_body(people=[]), "people", 400),
    "request: person without any name": (
        "post",
        "/api/requests/",
        request_body(people=[{"sex": "male"}]),
        "people[0].name",
        400,
    ),
    "case patch: no version": ("patch", "/api/cases/{case}/", {"urgency": 4}, "version", 400),
    "transition: no state": (
        "post",
        "/api/cases/{case}/transition/",
        {"version": 1},
        "to_state",
        400,
    ),
    "note: empty text": ("post", "/api/cases/{case}/notes/", {"text": ""}, "text", 400),
    "broker: no alias": ("post", "/api/brokers/", {"region": "Yanbian"}, "alias", 400),
    "partner: no country": ("post", "/api/partners/", {"name": "New agency"}, "country", 400),
    "triage: no version": (
        "post",
        "/api/requests/{request}/triage/",
        {"status": "triaged"},
        "version",
        400,
    ),
    "referral: no fields": (
        "post",
        "/api/referrals/",
        {"case": "{case}", "partner": "{partner}", "purpose": "relief"},
        "disclosed_fields",
        400,
    ),
    # wrong types
    "request: people is text": (
        "post",
        "/api/requests/",
        request_body(people="three"),
        "people",
        400,
    ),
    "request: account is a number": (
        "post",
        "/api/requests/",
        request_body(account=12345),
        "account",
        400,
    ),
    "request: urgency is a word": (
        "post",
        "/api/requests/",
        request_body(urgency="high"),
        "urgency",
        400,
    ),
    "request: received_at is not a date": (
        "post",
        "/api/requests/",
        request_body(received_at="last Tuesday"),
        "received_at",
        400,
    ),
    "request: aliases is text": (
        "post",
        "/api/requests/",
        request_body(people=[person(aliases="Sunny")]),
        "people",
        400,
    ),
    "request: broker id is a number": (
        "post",
        "/api/requests/",
        request_body(broker=7),
        "broker",
        400,
    ),
    "request: body is a list": (
        "post",
        "/api/requests/",
        [request_body()],
        "non_field_errors",
        400,
    ),
    "case patch: version is a word": (
        "patch",
        "/api/cases/{case}/",
        {"version": "one"},
        "version",
        400,
    ),
    "case patch: version is true": (
        "patch",
        "/api/cases/{case}/",
        {"version": True},
        "version",
        400,
    ),
    "case patch: version zero": ("patch", "/api/cases/{case}/", {"version": 0}, "version", 400),
    "case patch: owner is a name": (
        "patch",
        "/api/cases/{case}/",
        {"version": 1, "owner": "bob"},
        "owner",
        400,
    ),
    "case patch: summary is a list": (
        "patch",
        "/api/cases/{case}/",
        {"version": 1, "summary": ["a"]},
        "summary",
        400,
    ),
    "group: case_ids is text": (
        "post",
        "/api/groups/{group}/transition/",
        {"case_ids": "all", "to_state": "verifying"},
        "case_ids",
        400,
    ),
    "partner: active is a word": (
        "put",
        "/api/partners/{partner}/",
        {"name": "MOU", "country": "KR", "active": "maybe", "version": 1},
        "active",
        400,
    ),
    # booleans are JSON's true and false, nothing else (issue 17)
    "partner: active is 0": (
        "put",
        "/api/partners/{partner}/",
        {"name": "MOU", "country": "KR", "active": 0, "version": 1},
        "active",
        400,
    ),
    "partner: active is the text true": (
        "put",
        "/api/partners/{partner}/",
        {"name": "MOU", "country": "KR", "active": "true", "version": 1},
        "active",
        400,
    ),
    "revoke: rotate is 1": (
        "post",
        "/api/cases/{case}/access/revoke/",
        {"user": 1, "rotate": 1},
        "rotate",
        400,
    ),
    "case list: active=1": ("get", "/api/cases/?active=1", b"", "active", 400),
    "case list: overdue=yes": ("get", "/api/cases/?overdue=yes", b"", "overdue", 400),
    # partner names and family links are checked like other text (issue 17)
    "partner: a name of invisible characters": (
        "post",
        "/api/partners/",
        {"name": "\u200b\u2060", "country": "KR"},
        "name",
        400,
    ),
    "partner: a name that turns text around": (
        "post",
        "/api/partners/",
        {"name": "Ministry \u202eof Unification", "country": "KR"},
        "name",
        400,
    ),
    "partner: the same name in other characters": (
        "post",
        "/api/partners/",
        {"name": "Ｍinistry  of UNIFICATION", "country": "KR"},
        "name",
        400,
    ),
    "person: a family link to something that is not a case id": (
        "put",
        "/api/cases/{case}/person/",
        {**person(), "version": 1, "family": [{"relation": "sister", "case_id": "not-a-uuid"}]},
        "family[0].case_id",
        400,
    ),
    "person: a family link to a case that does not exist": (
        "put",
        "/api/cases/{case}/person/",
        {
            **person(),
            "version": 1,
            "family": [{"relation": "sister", "case_id": "00000000-0000-4000-8000-000000000000"}],
        },
        "family[0].case_id",
        400,
    ),
    # unknown fields
    "case patch: unknown field": (
        "patch",
        "/api/cases/{case}/",
        {"version": 1, "state": "arrived"},
        "state",
        400,
    ),
    "request: unknown person field": (
        "post",
        "/api/requests/",
        request_body(people=[person(passport="X1")]),
        "people",
        400,
    ),
    # oversized
    "request: account over 20,000 characters": (
        "post",
        "/api/requests/",
        request_body(account="가" * 20_001),
        "account",
        400,
    ),
    "request: 10,000-person group": (
        "post",
        "/api/requests/",
        request_body(people=[{"name_hangul": "가"}] * 10_000),
        "people",
        400,
    ),
    "request: 10 MB account": (
        "post",
        "/api/requests/",
        request_body(account="a" * 10_000_000),
        None,
        413,
    ),
    "note: over 20,000 characters": (
        "post",
        "/api/cases/{case}/notes/",
        {"text": "x" * 20_001},
        "text",
        400,
    ),
    "group: 101 case ids": (
        "post",
        "/api/groups/{group}/transition/",
        {"case_ids": ["{case}"] * 101, "to_state": "verifying"},
        "case_ids",
        400,
    ),
    # NUL bytes and invalid text
    "request: NUL in account": (
        "post",
        "/api/requests/",
        request_body(account="abc\x00def"),
        "account",
        400,
    ),
    "request: NUL in a name": (
        "post",
        "/api/requests/",
        request_body(people=[person(name_hangul="김\x00")]),
        "people",
        400,
    ),
    "note: NUL": ("post", "/api/cases/{case}/notes/", {"text": "\x00"}, "text", 400),
    "request: control character in account": (
        "post",
        "/api/requests/",
        request_body(account="bell\x07"),
        "account",
        400,
    ),
    "request: lone surrogate in account": (
        "post",
        "/api/requests/",
        b'{"channel": "direct_line", "account": "\\ud800", "people": [{"name_hangul": "a"}]}',
        "account",
        400,
    ),
    "partner: lone surrogate in a plain column": (
        "post",
        "/api/partners/",
        b'{"name": "\\udfff agency", "country": "KR"}',
        "name",
        400,
    ),
    "request: invalid UTF-8": (
        "post",
        "/api/requests/",
        b'{"channel": "direct_line", "account": "\xff\xfe\xc3\x28", "people": []}',
        None,
        400,
    ),
    "case patch: invalid UTF-8": (
        "patch",
        "/api/cases/{case}/",
        b'{"version": 1, "summary": "\xc0\xaf"}',
        None,
        400,
    ),
    # malformed JSON
    "request: truncated JSON": (
        "post",
        "/api/requests/",
        b'{"channel": "direct_line", "account": ',
        None,
        400,
    ),
    "request: single quotes": ("post", "/api/requests/", b"{'channel': 'broker'}", None, 400),
    "case patch: NaN version": ("patch", "/api/cases/{case}/", b'{"version": NaN}', None, 400),
    "note: empty body": ("post", "/api/cases/{case}/notes/", b"", "text", 400),
    # unknown states and choices
    "transition: unknown state": (
        "post",
        "/api/cases/{case}/transition/",
        {"version": 1, "to_state": "escaped"},
        "to_state",
        400,
    ),
    "transition: unknown source": (
        "post",
        "/api/cases/{case}/transition/",
        {"version": 1, "to_state": "verifying", "source": "rumour"},
        "source",
        400,
    ),
    "transition: unknown country": (
        "post",
        "/api/cases/{case}/transition/",
        {"version": 1, "to_state": "verifying", "country": "ZZ"},
        "country",
        400,
    ),
    "triage: unknown status": (
        "post",
        "/api/requests/{request}/triage/",
        {"version": 1, "status": "approved"},
        "status",
        400,
    ),
    "broker status: unknown": (
        "post",
        "/api/brokers/{broker}/status/",
        {"version": 1, "status": "banned"},
        "status",
        400,
    ),
    "referral respond: unknown": (
        "post",
        "/api/referrals/{referral}/respond/",
        {"version": 1, "status": "sent"},
        "status",
        400,
    ),
    "request: unknown channel": (
        "post",
        "/api/requests/",
        request_body(channel="pigeon"),
        "channel",
        400,
    ),
    "request: occupation too long": (
        "post",
        "/api/requests/",
        request_body(people=[person(occupation="식당 종업원 " * 40)]),
        "people",
        400,
    ),
    "request: unknown birth calendar": (
        "post",
        "/api/requests/",
        request_body(people=[person(birth_calendar="martian")]),
        "people",
        400,
    ),
    # dates in the future
    "request: received in the future": (
        "post",
        "/api/requests/",
        request_body(received_at=FUTURE),
        "received_at",
        400,
    ),
    "transition: occurred in the future": (
        "post",
        "/api/cases/{case}/transition/",
        {"version": 1, "to_state": "verifying", "occurred_at": FUTURE},
        "occurred_at",
        400,
    ),
    "request: born next year": (
        "post",
        "/api/requests/",
        request_body(people=[person(birth_value=NEXT_YEAR)]),
        "people[0].birth_value",
        400,
    ),
    "consent: given in the future": (
        "post",
        "/api/cases/{case}/consents/",
        {
            "partner": "{partner}",
            "purpose": "relief",
            "fields": ["name_romanized"],
            "method": "verbal",
            "words": "yes",
            "given_at": FUTURE,
        },
        "given_at",
        400,
    ),
    # unknown references
    "referral: unknown partner": (
        "post",
        "/api/referrals/",
        {
            "case": "{case}",
            "partner": "00000000-0000-0000-0000-000000000000",
            "purpose": "relief",
            "disclosed_fields": ["name_romanized"],
        },
        "partner",
        400,
    ),
}


def _fill(value: Any, world: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**world) if "{" in value and "}" in value else value
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize("name", list(MATRIX))
def test_bad_input_gets_a_clear_error_and_changes_nothing(client_for, alice, world, name):
    method, url, body, field, status = MATRIX[name]
    url = url.format(**world)
    client = client_for(alice)
    before = snapshot()

    started = time.monotonic()
    if isinstance(body, bytes):
        response = client.generic(method.upper(), url, body, content_type="application/json")
    else:
        payload = json.dumps(_fill(body, world), ensure_ascii=False).encode()
        response = client.generic(method.upper(), url, payload, content_type="application/json")
    elapsed = time.monotonic() - started

    assert response.status_code == status, (name, response.status_code, response.content[:500])
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["code"] and data["detail"]
    if field is not None:
        assert field in data["errors"], data
    assert snapshot() == before
    assert elapsed < 10, "refusing bad input must be quick"


def test_the_10000_person_group_error_says_what_to_do(client_for, alice):
    body = request_body(people=[{"name_hangul": "가"}] * 10_000)

    response = client_for(alice).post("/api/requests/", body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["people"] == {
        "non_field_errors": [
            "A request can cover at most 100 people; split larger groups into several requests."
        ]
    }
    assert Request.objects.count() == 0 and Case.objects.count() == 0


def test_form_encoded_bodies_are_refused(client_for, alice, world):
    before = snapshot()

    response = client_for(alice).post(
        f"/api/cases/{world['case']}/notes/", {"text": "hello"}, format="multipart"
    )

    assert response.status_code == 415
    assert snapshot() == before


def test_a_nul_byte_in_a_filter_is_400(client_for, alice):
    response = client_for(alice).get("/api/cases/", {"country": "\x00"})

    assert response.status_code == 400 and "country" in response.json()["errors"]


def test_a_malformed_id_in_the_path_is_404(client_for, alice):
    assert client_for(alice).get("/api/cases/not-a-uuid/").status_code == 404
    assert client_for(alice).get("/api/cases/1' OR '1'='1/").status_code == 404


HOSTILE = [
    "<script>alert('x')</script>",
    "Robert'); DROP TABLE cases_case;--",
    "' OR 1=1 --",
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "<img src=x onerror=alert(1)>",
    "{{ settings.SECRET_KEY }}",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_stored_as_given_and_returned_verbatim(client_for, alice, text):
    client = client_for(alice)
    body = request_body(
        account=text,
        contact=text,
        people=[person(name_hangul=text, name_romanized=text, aliases=[text], origin_region=text)],
    )

    created = client.post("/api/requests/", body, format="json")

    assert created.status_code == 201, created.json()
    case_id = created.json()["cases"][0]["id"]
    note = client.post(f"/api/cases/{case_id}/notes/", {"text": text}, format="json")
    assert note.status_code == 201 and note.json()["text"] == text
    request_view = client.get(f"/api/requests/{created.json()['id']}/")
    assert request_view["Content-Type"] == "application/json"
    assert request_view.json()["account"] == text and request_view.json()["contact"] == text
    case_view = client.get(f"/api/cases/{case_id}/").json()
    assert case_view["person"]["name_hangul"] == text
    assert case_view["person"]["aliases"] == [text]
    assert case_view["notes"][0]["text"] == text
    listed = client.get("/api/cases/").json()["results"]
    assert listed[0]["name"] == text
    # nothing was executed: the tables are all still there and hold exactly what was sent
    assert Case.objects.count() == 1 and Request.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("owner", ["9223372036854775808", "-1", "1e400", "0x10"])
def test_an_out_of_range_owner_filter_is_a_clear_400(client_for, alice, owner):
    response = client_for(alice).get("/api/cases/", {"owner": owner})

    assert response.status_code == 400
    assert "owner" in response.json()["errors"]


@pytest.mark.django_db
def test_the_schema_is_not_served_to_strangers(client):
    assert client.get("/api/schema/").status_code in (401, 403)


@pytest.mark.django_db
def test_a_tampered_record_is_refused_with_an_integrity_error(client_for, alice, ctx):
    from haven.cases.models import Case
    from tests.factories import make_case

    case = make_case(ctx=ctx, actor=alice)
    other = make_case(ctx=ctx, actor=alice)
    Case.objects.filter(pk=case.pk).update(payload=other.payload, data_key=other.data_key)

    response = client_for(alice).get(f"/api/cases/{case.pk}/")

    assert response.status_code == 500
    assert response.json()["code"] == "integrity_error"
