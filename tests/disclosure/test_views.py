"""The press pages on the web: what the press officer and the supervisor see and do, the gate on
every page, and bad input (a clear error, nothing stored)."""

from __future__ import annotations

import pytest
from django.test import Client

from haven.disclosure.models import Cover, Statement, StatementStatus
from haven.disclosure.services import (
    cover_set,
    statement_approve,
    statement_create,
    statement_release,
    statement_submit,
)
from tests.disclosure.helpers import STATEMENT_EN, TO_THAILAND, advance, arrive, group_fields
from tests.factories import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def press_client(heidi) -> Client:
    client = Client()
    login(client, heidi)
    return client


@pytest.fixture
def supervisor_client(alice) -> Client:
    client = Client()
    login(client, alice)
    return client


@pytest.fixture
def waiting_cover(ctx, alice, group):
    advance(ctx, alice, group, TO_THAILAND)
    return cover_set(
        ctx=ctx, actor=alice, group=group, label="Spring group", fields=group_fields(arrived=False)
    )


def test_the_press_officer_drafts_from_cover_records_and_sees_nothing_of_those_not_safe(
    press_client, waiting_cover
) -> None:
    page = press_client.get("/covers/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Spring group" in body and "Shanghai" not in body and "Not yet" in body
    form = press_client.get("/statements/new/")
    assert form.status_code == 200 and "Spring group" in form.content.decode()
    made = press_client.post(
        "/statements/new/",
        {"title": "Three workers", "text_en": STATEMENT_EN, "subject_A": str(waiting_cover.pk)},
    )
    assert made.status_code == 302
    statement = Statement.objects.get()
    detail = press_client.get(f"/statements/{statement.pk}/").content.decode()
    assert "[…]" in detail and "Shanghai" not in detail and "not yet safe" in detail


def test_markup_in_a_statement_is_refused_with_a_clear_error(press_client, waiting_cover) -> None:
    answer = press_client.post(
        "/statements/new/",
        {"title": "X", "text_en": "<script>alert(1)</script>", "subject_A": str(waiting_cover.pk)},
    )
    assert answer.status_code == 400
    assert "markup" in answer.content.decode()
    assert not Statement.objects.exists()


def test_a_blocked_approval_shows_the_supervisor_which_words_and_the_press_officer_only_that(
    ctx, alice, heidi, press, group, supervisor_client, press_client
) -> None:
    advance(ctx, alice, group, TO_THAILAND)
    arrive(ctx, alice, group)
    cover = cover_set(
        ctx=ctx, actor=alice, group=group, label="Spring group", fields=group_fields(arrived=True)
    )
    statement = statement_create(
        ctx=press,
        actor=heidi,
        title="T",
        texts={"en": STATEMENT_EN + " Ri Yong-ho said thanks."},
        subjects={"A": str(cover.pk)},
    )
    statement_submit(ctx=press, actor=heidi, statement=statement, expected_version=1)
    answer = supervisor_client.post(f"/statements/{statement.pk}/approve/", {"version": 2})
    assert answer.status_code == 409
    body = answer.content.decode()
    assert "<mark>Ri Yong-ho</mark>" in body and "name (full name)" in body
    statement.refresh_from_db()
    assert statement.status == StatementStatus.SUBMITTED


def test_a_released_statement_goes_out_as_text_and_print_and_pdf_falls_back(
    ctx, alice, heidi, press, group, press_client
) -> None:
    advance(ctx, alice, group, TO_THAILAND)
    arrive(ctx, alice, group)
    cover = cover_set(
        ctx=ctx, actor=alice, group=group, label="Spring group", fields=group_fields(arrived=True)
    )
    statement = statement_create(
        ctx=press,
        actor=heidi,
        title="Safe",
        texts={"en": STATEMENT_EN},
        subjects={"A": str(cover.pk)},
    )
    statement_submit(ctx=press, actor=heidi, statement=statement, expected_version=1)
    statement_approve(ctx=ctx, actor=alice, statement=statement, expected_version=2)
    statement_release(ctx=press, actor=heidi, statement=statement, expected_version=3)
    text = press_client.get(f"/statements/{statement.pk}/text/")
    assert text.status_code == 200 and text["Content-Type"].startswith("text/plain")
    assert "from Shanghai arrived in South Korea" in text.content.decode()
    printed = press_client.get(f"/statements/{statement.pk}/print/")
    assert printed.status_code == 200 and b"from Shanghai" in printed.content
    pdf = press_client.get(f"/statements/{statement.pk}/pdf/")
    assert pdf.status_code in (200, 302)


def test_a_supervisor_records_cover_values_from_the_case(
    ctx, alice, group, supervisor_client
) -> None:
    case = group.cases.first()
    page = supervisor_client.get(f"/cases/{case.pk}/group-cover/")
    assert page.status_code == 200
    answer = supervisor_client.post(
        f"/cases/{case.pk}/group-cover/",
        {
            "label": "Spring group",
            "origin_mode": "cover",
            "origin_en": "Shanghai",
            "count_mode": "rounded",
            "count_reason": "About is enough.",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert Cover.objects.filter(group=group).exists()
    refused = supervisor_client.post(
        f"/cases/{case.pk}/cover/",
        {"label": "Kim Sun-hui", "origin_mode": "cover", "origin_en": "Dalian"},
    )
    assert refused.status_code == 400
    assert not Cover.objects.filter(case=case).exists()
