"""The auditors' viewer of the audit trail: filters, access, hostile input, chain verification."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from haven.audit.models import AuditEntry
from haven.audit.pseudonyms import audit_id
from haven.audit.selectors import audit_anchor
from haven.audit.services import audit_record
from tests.factories import login, make_case

pytestmark = pytest.mark.django_db

URL = "/audit/"


def _seqs(response) -> list[int]:
    return [entry.seq for entry, _detail in response.context["rows"]]


def _local(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def trail(alice, bob, ctx):
    """A case opened by alice, viewed by bob, and one entry of each's own."""
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    audit_record(actor=bob, action="case.view", target=case)
    audit_record(actor=alice, action="partner.create", detail={"note": "<b>x</b>"})
    return case


def test_the_url_is_named():
    assert reverse("web:audit") == URL


def test_auditor_sees_entries_newest_first_with_the_anchor(client, grace, trail):
    login(client, grace)
    response = client.get(URL)
    assert response.status_code == 200
    seqs = _seqs(response)
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == AuditEntry.objects.count()
    body = response.content.decode()
    assert audit_anchor().reference in body
    assert "Partner — created" in body and 'title="partner.create"' in body and "bob" in body
    # The detail is shown key by key, escaped.
    assert "&lt;b&gt;x&lt;/b&gt;" in body
    assert "<b>x</b>" not in body
    assert 'href="/audit/"' in body  # the nav link


def test_nav_link_only_for_auditors(client, alice):
    login(client, alice)
    assert 'href="/audit/"' not in client.get(reverse("web:dashboard")).content.decode()


def test_filter_by_person(client, grace, bob, trail):
    login(client, grace)
    response = client.get(URL, {"person": bob.pk})
    assert response.status_code == 200
    seqs = _seqs(response)
    assert seqs and set(seqs) == set(
        AuditEntry.objects.filter(actor=bob).values_list("seq", flat=True)
    )


def test_filter_by_case_id(client, grace, trail):
    login(client, grace)
    response = client.get(URL, {"record": str(trail.pk).upper()})  # any spelling of the UUID
    assert response.status_code == 200
    rows = response.context["rows"]
    # Stored as a pseudonym (so that destroying the case leaves no trace), found by the real id.
    assert rows and all(entry.target_id == audit_id(trail.pk) for entry, _detail in rows)
    assert all(str(trail.pk) not in entry.target_id for entry, _detail in rows)
    assert {entry.action for entry, _detail in rows} >= {"case.view"}


def test_filter_by_action(client, grace, trail):
    login(client, grace)
    page = client.get(URL)
    assert ("partner.create", "Partner — created") in page.context["form"].fields["action"].choices
    response = client.get(URL, {"action": "partner.create"})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) == 1 and rows[0][0].action == "partner.create"


def test_filter_by_time(client, grace, trail):
    login(client, grace)
    now = timezone.now()
    hour = dt.timedelta(hours=1)
    everything = {"since": _local(now - hour), "until": _local(now + hour)}
    assert len(_seqs(client.get(URL, everything))) == AuditEntry.objects.count()
    assert _seqs(client.get(URL, {"since": _local(now + hour)})) == []
    assert _seqs(client.get(URL, {"until": _local(now - hour)})) == []
    old = AuditEntry.objects.order_by("seq").first()
    AuditEntry.objects.filter(pk=old.pk).update(at=now - dt.timedelta(days=10))
    response = client.get(URL, {"until": _local(now - dt.timedelta(days=5))})
    assert _seqs(response) == [old.seq]


def test_filters_combine_and_keep_the_query_in_the_pager(client, grace, bob, trail):
    for i in range(60):
        audit_record(actor=bob, action="case.view", target=trail, detail={"i": i})
    login(client, grace)
    query = {"person": bob.pk, "action": "case.view"}
    first = client.get(URL, query)
    assert len(_seqs(first)) == 50 and first.context["page"].paginator.count == 61
    assert f"person={bob.pk}&amp;action=case.view&amp;page=2" in first.content.decode()
    second = client.get(URL, {**query, "page": 2})
    assert len(_seqs(second)) == 11


@pytest.mark.parametrize("name", ["alice", "bob", "erin"])
def test_other_roles_get_403(client, request, name):
    login(client, request.getfixturevalue(name))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"verify": "1"}).status_code == 403


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


HOSTILE = {
    "bad UUID": {"record": "not-a-uuid"},
    "SQL in the record id": {"record": "'; DROP TABLE audit_auditentry; --"},
    "oversized record id": {"record": "a" * 5000},
    "NUL byte in the record id": {"record": "1\x00"},
    "NUL byte in the action": {"action": "case.view\x00"},
    "unknown action": {"action": "<script>alert(1)</script>"},
    "unknown user id": {"person": "999999"},
    "huge user id": {"person": "9" * 40},
    "user id as text": {"person": "grace"},
    "NUL byte in the user id": {"person": "1\x00"},
    "bad date": {"since": "yesterday"},
    "impossible date": {"until": "2024-02-30T10:00"},
    "NUL byte in a date": {"since": "2024-01-01\x00T10:00"},
    "date at the start of the calendar": {"since": "0001-01-01T00:00"},
    "end before start": {"since": "2024-02-01T10:00", "until": "2024-01-01T10:00"},
}


@pytest.mark.parametrize("query", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_filter_input_gets_a_form_error(client, grace, trail, query):
    login(client, grace)
    response = client.get(URL, query)
    assert response.status_code in (200, 400)
    assert 'class="errorlist' in response.content.decode()
    assert response.context["rows"] == []
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_a_far_end_date_is_accepted(client, grace, trail):
    login(client, grace)
    response = client.get(URL, {"until": "9999-12-31T23:59"})
    assert response.status_code == 200
    assert len(_seqs(response)) == AuditEntry.objects.count()


def test_verify_reports_an_intact_chain(client, grace, trail):
    login(client, grace)
    response = client.post(URL, {"verify": "1"})
    assert response.status_code == 200
    verify = response.context["verify"]
    assert verify.ok and verify.entries == AuditEntry.objects.count()
    assert 'id="verify-result"' in response.content.decode()
    assert "The chain is intact" in response.content.decode()


def test_verify_names_a_tampered_entry(client, grace, trail):
    seq = AuditEntry.objects.order_by("seq").values_list("seq", flat=True)[1]
    AuditEntry.objects.filter(seq=seq).update(action="x")
    login(client, grace)
    response = client.post(URL + "?action=x", {"verify": "1"})
    assert response.status_code == 200
    assert not response.context["verify"].ok
    body = response.content.decode()
    assert "The chain is broken" in body
    assert f"seq {seq}: edited" in body
    assert _seqs(response) == [seq]  # the filter of the page stays


def test_verify_caps_the_listed_problems(client, grace, bob, trail):
    for i in range(60):
        audit_record(actor=bob, action="case.view", target=trail, detail={"i": i})
    AuditEntry.objects.update(action="x")
    login(client, grace)
    response = client.post(URL, {"verify": "1"})
    verify = response.context["verify"]
    assert len(verify.problems) == 50 and verify.unlisted > 0
    assert "more problems, not listed here" in response.content.decode()


def test_verify_is_post_only(client, grace, trail):
    login(client, grace)
    assert client.get(URL, {"verify": "1"}).context["verify"] is None
    assert client.put(URL).status_code == 405


def test_korean_page_shows_the_korean_title(client, grace, trail):
    login(client, grace)
    client.post(reverse("set_language"), {"language": "ko", "next": URL})
    body = client.get(URL).content.decode()
    assert "감사 기록" in body and "체인 검증" in body
    assert "Audit trail" not in body


# -- the signed head, to print --------------------------------------------------------------------


def test_the_auditors_page_shows_the_signed_head_and_the_servers_key(client, grace, trail):
    from haven.crypto import audit_public_key

    login(client, grace)
    body = client.get(URL).content.decode()

    anchor = audit_anchor()
    assert anchor.signature and f'<code id="anchor-line">{anchor.text}</code>' in body
    assert audit_public_key() in body and 'id="anchor-unsigned"' not in body


def test_the_auditors_page_warns_when_the_head_is_not_signed(client, grace, trail):
    from haven.audit.models import AuditHead

    AuditHead.objects.update(signature="")
    login(client, grace)
    body = client.get(URL).content.decode()

    assert 'id="anchor-unsigned"' in body and 'id="anchor-line"' not in body


def test_supervisors_see_the_signed_head_on_their_dashboard(client, alice, bob, trail):
    login(client, alice)
    body = client.get(reverse("web:dashboard")).content.decode()
    assert 'id="audit-chain"' in body and audit_anchor().signature in body

    client.logout()
    login(client, bob)
    assert 'id="audit-chain"' not in client.get(reverse("web:dashboard")).content.decode()


def test_entries_read_as_words_with_long_lists_folded_and_ids_shortened(client, grace, alice, ctx):
    """Issue 18, item 10: readable labels, not codes, hashes and JSON across a page."""
    from tests.factories import make_case

    cases = [make_case(ctx=ctx, actor=alice) for _ in range(5)]
    from haven.cases.selectors import case_rows

    case_rows(ctx=ctx, user=alice, cases=cases)  # one "case.list" entry naming five cases
    login(client, grace)

    body = client.get(URL).content.decode()

    assert "Case — listed" in body and ">case.list<" not in body
    assert "<summary>5 items</summary>" in body
    assert "{&quot;" not in body  # no JSON


def test_the_entries_are_exported_as_csv_with_their_hashes_and_the_export_is_recorded(
    client, grace, trail
):
    import csv
    import io

    login(client, grace)
    before = AuditEntry.objects.count()

    response = client.get(reverse("web:audit_export", args=["csv"]), {"action": "partner.create"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {r["Action code"] for r in rows} == {"partner.create"}
    entry = AuditEntry.objects.get(seq=int(rows[0]["Number"]))
    assert rows[0]["Entry hash"] == entry.entry_hash
    assert AuditEntry.objects.count() == before + 1
    assert AuditEntry.objects.order_by("-seq").first().action == "audit.export"


def test_other_roles_cannot_export(client, alice):
    login(client, alice)
    assert client.get(reverse("web:audit_export", args=["csv"])).status_code == 403
