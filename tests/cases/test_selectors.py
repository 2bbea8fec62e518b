from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from haven.audit.models import AuditEntry
from haven.audit.pseudonyms import audit_id
from haven.cases.journey import State
from haven.cases.selectors import case_detail, case_list, case_rows, dashboard, request_detail
from haven.cases.services import case_update, journey_advance
from tests.factories import ctx_for, make_case, make_request


@pytest.mark.django_db
def test_caseworkers_see_their_own_and_their_teams_cases_only(ctx, alice, bob, carol):
    mine = make_case(ctx=ctx, actor=alice, owner=bob)
    theirs = make_case(ctx=ctx, actor=alice, owner=carol)
    unassigned = make_case(ctx=ctx, actor=alice)

    assert set(case_list(user=bob)) == {mine}
    assert set(case_list(user=carol)) == {theirs}
    assert set(case_list(user=alice)) == {mine, theirs, unassigned}


@pytest.mark.django_db
def test_a_case_outside_need_to_know_is_not_found_rather_than_forbidden(ctx, alice, carol, bob):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    with pytest.raises(Http404):
        case_detail(ctx=ctx_for(carol), user=carol, case_id=case.pk)
    with pytest.raises(Http404):
        case_detail(ctx=ctx_for(carol), user=carol, case_id="not-a-uuid")


@pytest.mark.django_db
def test_administrators_cannot_read_cases(ctx, alice, erin):
    make_case(ctx=ctx, actor=alice)
    with pytest.raises(PermissionDenied):
        case_list(user=erin)


@pytest.mark.django_db
def test_reading_a_case_is_audited_without_sensitive_values(ctx, alice):
    case = make_case(ctx=ctx, actor=alice)

    detail = case_detail(ctx=ctx, user=alice, case_id=case.pk)

    entry = AuditEntry.objects.filter(action="case.view").get()
    assert entry.actor == alice and entry.target_id == audit_id(case.pk)
    name = detail.person["name_hangul"]
    assert name and name not in str(AuditEntry.objects.values_list("detail", flat=True))


@pytest.mark.django_db
def test_case_detail_shows_the_timeline_in_order_and_allowed_moves(ctx, alice):
    case = make_case(ctx=ctx, actor=alice)
    journey_advance(
        ctx=ctx,
        actor=alice,
        case=case,
        to_state=State.VERIFYING,
        expected_version=case.version,
        note="called",
    )

    detail = case_detail(ctx=ctx, user=alice, case_id=case.pk)

    assert [e.event.to_state for e in detail.events] == [State.RECEIVED, State.VERIFYING]
    assert detail.events[-1].note == "called"
    assert State.ACCEPTED in detail.allowed_moves and State.ARRIVED not in detail.allowed_moves


@pytest.mark.django_db
def test_overdue_cases_surface_on_the_dashboard(ctx, alice):
    now = timezone.now()
    late = make_case(ctx=ctx, actor=alice)
    on_time = make_case(ctx=ctx, actor=alice)
    case_update(
        ctx=ctx,
        actor=alice,
        case=late,
        expected_version=late.version,
        next_contact_due=now - dt.timedelta(days=1),
    )
    case_update(
        ctx=ctx,
        actor=alice,
        case=on_time,
        expected_version=on_time.version,
        next_contact_due=now + dt.timedelta(days=1),
    )

    board = dashboard(user=alice, now=now)

    assert [c.pk for c in board.overdue] == [late.pk]
    assert board.overdue_count == 1
    assert board.by_state[State.RECEIVED] == 2
    assert board.active == 2


@pytest.mark.django_db
def test_closed_cases_are_never_overdue(ctx, alice):
    case = make_case(ctx=ctx, actor=alice)
    case_update(
        ctx=ctx,
        actor=alice,
        case=case,
        expected_version=case.version,
        next_contact_due=timezone.now() - dt.timedelta(days=3),
    )
    journey_advance(
        ctx=ctx, actor=alice, case=case, to_state=State.DECLINED, expected_version=case.version
    )

    assert dashboard(user=alice).overdue_count == 0
    assert not case_list(user=alice, overdue=True).exists()


@pytest.mark.django_db
def test_requests_are_counted_per_year(ctx, alice):
    for year in (2024, 2025, 2025):
        make_request(ctx=ctx, actor=alice, received_at=dt.datetime(year, 6, 1, tzinfo=dt.UTC))

    assert dashboard(user=alice).requests_by_year == [(2024, 1), (2025, 2)]


@pytest.mark.django_db
def test_case_rows_decrypt_names_for_one_page(ctx, alice):
    make_request(ctx=ctx, actor=alice, people=3)

    rows = case_rows(ctx=ctx, user=alice, cases=case_list(user=alice)[:2])

    assert len(rows) == 2 and all(r.name for r in rows)


@pytest.mark.django_db
def test_request_detail_returns_the_account_and_its_cases(ctx, alice):
    request = make_request(ctx=ctx, actor=alice, people=2, account="Two cooks from Ningbo")

    _, data, rows = request_detail(ctx=ctx, user=alice, request_id=request.pk)

    assert data["account"] == "Two cooks from Ningbo" and len(rows) == 2
