"""Retention: cases past their period are shown first, then destroyed without a trace."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from haven.audit.models import AuditEntry
from haven.cases.journey import State
from haven.cases.models import Case, JourneyEvent, Note, Person, Request
from haven.cases.services import journey_advance, note_add
from haven.retention.models import RetentionHold, RetentionNotice
from haven.retention.selectors import retention_upcoming
from haven.retention.services import retention_hold, retention_purge
from haven.vault.models import DataKey, Grant, SearchToken
from tests.factories import make_case, make_request

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def _decline(ctx, alice, case, *, days_ago: int) -> Case:
    journey_advance(
        ctx=ctx, actor=alice, case=case, to_state=State.DECLINED, expected_version=case.version
    )
    Case.objects.filter(pk=case.pk).update(state_changed_at=timezone.now() - days_ago * DAY)
    return Case.objects.get(pk=case.pk)


def test_a_case_past_retention_is_shown_for_the_notice_period_before_it_is_destroyed(ctx, alice):
    case = _decline(ctx, alice, make_case(ctx=ctx, actor=alice), days_ago=100)
    kept = _decline(ctx, alice, make_case(ctx=ctx, actor=alice), days_ago=10)
    now = timezone.now()

    first = retention_purge(now=now)

    assert (first.announced, first.purged) == (1, 0)
    assert [n.case_id for n in retention_upcoming()] == [case.pk]
    assert retention_purge(now=now + 13 * DAY).purged == 0
    assert retention_purge(now=now + 15 * DAY).purged == 1
    assert not Case.objects.filter(pk=case.pk).exists()
    assert Case.objects.filter(pk=kept.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_purge_leaves_no_trace_of_the_case_in_any_table(ctx, alice):
    from tests.vault.test_no_plaintext import _database_bytes

    request = make_request(ctx=ctx, actor=alice)
    case = request.cases.get()
    note_add(ctx=ctx, actor=alice, case=case, text="at the border")
    case = _decline(ctx, alice, case, days_ago=100)
    ids = [case.pk, case.person_id, case.data_key_id, request.pk, request.data_key_id]
    ids += list(JourneyEvent.objects.filter(case=case).values_list("pk", flat=True))
    ids += list(Note.objects.filter(case=case).values_list("pk", flat=True))
    assert SearchToken.objects.filter(data_key_id=case.data_key_id).exists()
    now = timezone.now()
    retention_purge(now=now)

    retention_purge(now=now + 15 * DAY)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    assert not Request.objects.filter(pk=request.pk).exists()
    assert not SearchToken.objects.filter(data_key_id=case.data_key_id).exists()
    assert not Grant.objects.filter(data_key_id=case.data_key_id).exists()
    at_rest = _database_bytes()
    for value in ids:
        for spelling in (str(value), value.hex):
            assert spelling.encode() not in at_rest, f"{value} is still stored"
    entry = AuditEntry.objects.filter(action="retention.purge").latest("seq")
    assert entry.detail == {"announced": 0, "cases": 1, "requests": 1}
    assert entry.target_id == ""


def test_a_held_case_is_kept_until_the_hold_ends(ctx, alice):
    case = _decline(ctx, alice, make_case(ctx=ctx, actor=alice), days_ago=100)
    now = timezone.now()
    retention_purge(now=now)

    retention_hold(actor=alice, case=case, days=30)

    assert retention_purge(now=now + 15 * DAY).purged == 0
    assert retention_purge(now=now + 31 * DAY).purged == 1


def test_a_reopened_case_leaves_the_list(ctx, alice):
    case = _decline(ctx, alice, make_case(ctx=ctx, actor=alice), days_ago=100)
    now = timezone.now()
    retention_purge(now=now)
    Case.objects.filter(pk=case.pk).update(state=State.VERIFYING, state_changed_at=now)

    assert retention_purge(now=now + 15 * DAY).purged == 0
    assert not RetentionNotice.objects.exists() and Case.objects.filter(pk=case.pk).exists()


def test_a_dry_run_changes_nothing(ctx, alice):
    _decline(ctx, alice, make_case(ctx=ctx, actor=alice), days_ago=100)
    before = (Case.objects.count(), DataKey.objects.count(), AuditEntry.objects.count())

    result = retention_purge(dry_run=True)

    assert result.announced == 1 and result.dry_run
    assert not RetentionNotice.objects.exists()
    assert (Case.objects.count(), DataKey.objects.count(), AuditEntry.objects.count()) == before


@pytest.mark.parametrize("days", [0, -5, 10_000])
def test_holds_are_for_supervisors_and_a_sensible_number_of_days(ctx, alice, bob, days):
    case = make_case(ctx=ctx, actor=alice, owner=bob)

    with pytest.raises(PermissionDenied):
        retention_hold(actor=bob, case=case, days=30)
    with pytest.raises(ValidationError):
        retention_hold(actor=alice, case=case, days=days)
    assert not RetentionHold.objects.exists()


def test_the_purge_command_reports_what_it_did(capsys, ctx, alice):
    _decline(ctx, alice, make_case(ctx=ctx, actor=alice), days_ago=100)

    call_command("purge", "--dry-run")

    assert "1 cases newly shown to supervisors; would destroy 0 cases" in capsys.readouterr().out
    assert Person.objects.count() == 1


def test_housekeeping_clears_expired_sessions_tokens_and_old_failed_logins(client, alice, bob):
    from axes.models import AccessAttempt
    from django.contrib.sessions.models import Session

    from haven.api.models import ApiToken
    from haven.api.services import api_token_create
    from haven.retention.services import housekeeping_clear
    from tests.factories import PASSWORD, login

    login(client, bob)
    api_token_create(user=bob, password=PASSWORD)
    type(client)().post("/login/", {"username": "alice", "password": "wrong"})
    assert AccessAttempt.objects.exists()
    later = timezone.now() + 400 * DAY

    cleared = housekeeping_clear(now=later)

    assert (cleared.sessions, cleared.tokens, cleared.attempts) == (1, 1, 1)
    assert not Session.objects.exists() and not ApiToken.objects.exists()
    assert not AccessAttempt.objects.exists()
