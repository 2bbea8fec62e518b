"""Counts kept at write time (haven.cases.tallies) equal a full recount after any sequence of
writes, grants, revocations, key replacements, deletions, resets and team changes."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from haven import access
from haven.accounts.services import user_password_reset, user_update
from haven.brokers.credentials import broker_credential_issue
from haven.brokers.models import BrokerCredential
from haven.cases.journey import TERMINAL, allowed_targets
from haven.cases.models import Case, CaseTally, Request, RequestTally, TallyDirty
from haven.cases.selectors import (
    ACTIVE_Q,
    case_list,
    case_list_count,
    case_queryset,
    dashboard,
    overdue_count,
    request_list,
    request_list_count,
)
from haven.cases.services import (
    case_delete,
    case_grant,
    case_revoke,
    case_update,
    journey_advance,
    request_triage,
)
from haven.cases.tallies import tallies_rebuild, visible_counts, visible_request_counts
from haven.portal.services import Submission, broker_request_create, portal_request_create
from haven.vault.holders import forget_held, holds_key
from haven.vault.models import TeamKey
from tests.factories import ctx_for, make_broker, make_request

pytestmark = pytest.mark.django_db


def _recount(user) -> dict[tuple[str, int], int]:
    forget_held(user)
    return dict(Counter(case_queryset(user=user).values_list("state", "urgency")))


# Moments the overdue count is asked at: now, and as days pass or had not yet passed.
MOMENTS = [dt.timedelta(0), dt.timedelta(days=-2, hours=5), dt.timedelta(days=3, hours=-7)]


def _check(users) -> None:
    assert not TallyDirty.objects.exists()
    now = timezone.now()
    for user in users:
        user.refresh_from_db()
        forget_held(user)
        assert visible_counts(user) == _recount(user), user.username
        for shift in MOMENTS:
            at = now + shift
            expected = case_queryset(user=user).filter(ACTIVE_Q, next_contact_due__lt=at).count()
            assert overdue_count(user=user, now=at) == expected, (user.username, shift)
        if access.has_role(user, access.REQUEST_HANDLERS):
            seen = Counter(request_list(user=user).values_list("status", flat=True))
            assert visible_request_counts(user) == dict(seen), user.username


def _step(rng: random.Random, alice, people) -> None:
    """One random piece of daily work, done through the services as the pages do it."""
    cases = list(Case.objects.order_by("pk"))
    supervisor_ctx = ctx_for(alice)
    action = rng.choice(
        ["record", "record", "move", "move", "grant", "revoke", "rotate", "urgency", "due"]
        + ["due", "delete", "triage", "portal", "broker"]
    )
    if action in ("portal", "broker"):
        _ask(rng, broker=people["broker"] if action == "broker" else None)
        return
    if action == "record" or not cases:
        recorder = rng.choice([alice, people["bob"], people["carol"], people["dave"]])
        owner = rng.choice([None, people["bob"], people["carol"]])
        if recorder.role == "caseworker":
            owner = recorder
        make_request(
            ctx=ctx_for(recorder),
            actor=recorder,
            people=rng.randint(1, 3),
            owner=owner,
            urgency=rng.choice([1, 2, 3, 4]),
        )
        return
    case = rng.choice(cases)
    if action == "move":
        targets = sorted(allowed_targets(case.state))
        if targets:
            journey_advance(
                ctx=supervisor_ctx,
                actor=alice,
                case=case,
                to_state=rng.choice(targets),
                expected_version=case.version,
            )
    elif action == "grant":
        holder = rng.choice([people["bob"], people["carol"], people["dave"]])
        if not holds_key(holder, case.data_key_id):
            case_grant(ctx=supervisor_ctx, actor=alice, case=case, holder=holder)
    elif action in ("revoke", "rotate"):
        for holder in (people["carol"], people["bob"], people["dave"]):
            forget_held(holder)
            if case.data_key.grants.filter(user=holder).exists() and not (
                holds_key_through_team(holder, case)
            ):
                case_revoke(
                    ctx=supervisor_ctx,
                    actor=alice,
                    case=case,
                    holder=holder,
                    rotate=action == "rotate",
                )
                return
        team_grant = case.data_key.grants.filter(team_key__kind="team").first()
        if team_grant is not None:
            case_revoke(ctx=supervisor_ctx, actor=alice, case=case, holder=team_grant.team_key)
    elif action == "urgency":
        case_update(
            ctx=supervisor_ctx,
            actor=alice,
            case=case,
            expected_version=case.version,
            urgency=rng.choice([1, 2, 3, 4]),
        )
    elif action == "triage":
        waiting = Request.objects.filter(status="new").order_by("pk").first()
        if waiting is not None:
            request_triage(
                ctx=supervisor_ctx,
                actor=alice,
                request=waiting,
                expected_version=waiting.version,
                status=rng.choice(["triaged", "declined"]),
            )
    elif action == "due":
        due = rng.choice([None, timezone.now() + dt.timedelta(hours=rng.randint(-120, 120))])
        case_update(
            ctx=supervisor_ctx,
            actor=alice,
            case=case,
            expected_version=case.version,
            next_contact_due=due,
        )
    elif action == "delete":
        case_delete(ctx=supervisor_ctx, actor=alice, case=case, expected_version=case.version)


def _ask(rng: random.Random, *, broker=None) -> Request:
    """A request through the portal, or a broker's pages: its counts are worked out before its
    transaction (haven.cases.tallies.tallies_of_new), not settled in it."""
    n = rng.randint(1, 3)
    submission = Submission(
        names=[f"Kim {rng.randrange(10**6)}" for _ in range(n)],
        country="CN",
        region="",
        urgency=rng.choice([1, 2, 3, 4]),
        account="We want to leave.",
        contact="",
    )
    token = f"t-{rng.randrange(10**12)}"
    if broker is None:
        return portal_request_create(submission=submission, form_token=token)[0]
    return broker_request_create(
        broker=broker,
        broker_public_key=bytes(BrokerCredential.objects.get(broker=broker).public_key),
        submission=submission,
        form_token=token,
    )


def holds_key_through_team(user, case) -> bool:
    from haven.vault.holders import held_team_key_ids

    return case.data_key.grants.filter(
        team_key_id__in=list(held_team_key_ids(user)), stale=False
    ).exists()


@pytest.mark.parametrize("seed", range(4))
def test_counts_equal_a_recount_after_random_daily_work(seed, alice, bob, carol, dave, erin):
    rng = random.Random(seed)
    broker = make_broker(ctx=ctx_for(alice), actor=alice, alias="Mr Jang")
    broker_credential_issue(ctx=ctx_for(alice), actor=alice, broker=broker)
    people = {"bob": bob, "carol": carol, "dave": dave, "broker": broker}
    everyone = [alice, bob, carol, dave]
    for _ in range(18):
        _step(rng, alice, people)
        _check(everyone)
    # Someone changes teams (keys taken away), someone's password is reset (grants go stale).
    user_update(actor=erin, user=carol, team=bob.team)
    _check(everyone)
    user_password_reset(actor=erin, user=bob, new_password="another long passphrase 42")
    _check(everyone)
    # A team key replaced after a departure: cases sealed to the old generation still count.
    team_key = TeamKey.objects.filter(kind="team", team=alice.team, active=True).first()
    if team_key is not None:
        from haven.vault.services import team_key_rotate

        team_key_rotate(ctx=ctx_for(alice), actor=alice, team_key=team_key)
    _check(everyone)


def test_a_rebuild_gives_the_same_counts(alice, bob, dave) -> None:
    make_request(ctx=ctx_for(dave), actor=dave, people=3, owner=bob)
    make_request(ctx=ctx_for(alice), actor=alice, people=2)
    before = {user.pk: visible_counts(user) for user in (alice, bob, dave)}

    assert tallies_rebuild() == Case.objects.count()

    assert {user.pk: visible_counts(user) for user in (alice, bob, dave)} == before
    assert CaseTally.objects.count() == Case.objects.count()


def test_the_dashboard_counts_without_touching_the_cases(alice, bob, dave) -> None:
    """The counts come from a few rows, not from a grant check per case."""
    for _ in range(5):
        make_request(ctx=ctx_for(dave), actor=dave, people=2, owner=bob)
    with CaptureQueriesContext(connection) as queries:
        board = dashboard(user=alice)
    counted = [q["sql"] for q in queries.captured_queries if "COUNT" in q["sql"].upper()]
    assert board.by_state["received"] == 10
    assert not any("cases_case" in sql and "GROUP BY" in sql.upper() for sql in counted)


def test_the_case_list_count_follows_its_filters(alice, bob, dave) -> None:
    make_request(ctx=ctx_for(dave), actor=dave, people=3, owner=bob, urgency=4)
    make_request(ctx=ctx_for(dave), actor=dave, people=2, urgency=2)
    case = Case.objects.filter(urgency=2).first()
    journey_advance(
        ctx=ctx_for(alice), actor=alice, case=case, to_state="declined", expected_version=1
    )
    for user in (alice, bob):
        for filters in (
            {},
            {"state": "received"},
            {"urgency": 4},
            {"active": True},
            {"active": False},
            {"state": "declined", "active": False},
            {"owner_id": bob.pk},
        ):
            qs = case_list(user=user, **filters)
            assert case_list_count(user=user, cases=qs, filters=filters) == qs.count(), filters
    assert "declined" in TERMINAL


def test_the_overdue_count_follows_the_clock_without_recounting(alice, bob, dave) -> None:
    """Cases whose next contact passes become overdue as time goes on, with no write between;
    the count reads the day counts and today's cases only."""
    make_request(ctx=ctx_for(dave), actor=dave, people=3, owner=bob)
    now = timezone.now()
    cases = list(Case.objects.order_by("pk"))
    for case, days in zip(cases, (-10, 1, 4), strict=True):
        case_update(
            ctx=ctx_for(alice),
            actor=alice,
            case=case,
            expected_version=case.version,
            next_contact_due=now + dt.timedelta(days=days),
        )
    counts = [overdue_count(user=bob, now=now + dt.timedelta(days=d)) for d in (0, 2, 5)]
    assert counts == [1, 2, 3]
    assert dashboard(user=bob, now=now + dt.timedelta(days=2)).overdue_count == 2
    filters = {"overdue": True, "now": now + dt.timedelta(days=5)}
    qs = case_list(user=bob, **filters)
    with CaptureQueriesContext(connection) as queries:
        counted = case_list_count(user=bob, cases=qs, filters=filters)
    assert counted == qs.count() == 3
    # Only today's cases are read one by one (none here is due on that day).
    read = [q["sql"] for q in queries.captured_queries if "cases_case" in q["sql"]]
    assert all('next_contact_due" >=' in sql for sql in read), read


def test_closing_a_case_takes_it_out_of_the_overdue_count(alice, bob, dave) -> None:
    make_request(ctx=ctx_for(dave), actor=dave, people=1, owner=bob)
    case = Case.objects.get()
    case_update(
        ctx=ctx_for(alice),
        actor=alice,
        case=case,
        expected_version=case.version,
        next_contact_due=timezone.now() - dt.timedelta(days=3),
    )
    assert overdue_count(user=bob, now=timezone.now()) == 1
    case.refresh_from_db()
    journey_advance(
        ctx=ctx_for(alice),
        actor=alice,
        case=case,
        to_state="withdrawn",
        expected_version=case.version,
    )
    assert overdue_count(user=bob, now=timezone.now()) == 0


def test_the_inbox_counts_requests_without_reading_them(alice, bob, dave) -> None:
    for _ in range(3):
        make_request(ctx=ctx_for(dave), actor=dave, people=2, owner=bob)
    first = Request.objects.order_by("pk").first()
    request_triage(
        ctx=ctx_for(alice),
        actor=alice,
        request=first,
        expected_version=first.version,
        status="declined",
    )
    assert RequestTally.objects.count() == 3
    for filters in ({}, {"status": "new"}, {"status": "declined"}, {"status": "triaged"}):
        qs = request_list(user=dave, **filters)
        with CaptureQueriesContext(connection) as queries:
            counted = request_list_count(user=dave, requests=qs, filters=filters)
        assert counted == qs.count(), filters
        assert not any("cases_request" in q["sql"] for q in queries.captured_queries)
    # Any other filter is counted over the requests themselves.
    qs = request_list(user=dave, urgency=3)
    assert request_list_count(user=dave, requests=qs, filters={"urgency": 3}) == qs.count()


def test_portal_requests_are_counted_before_their_transaction(alice, bob, dave) -> None:
    rng = random.Random(7)
    _ask(rng)
    # Inside the portal's transaction the catch-up finds nothing of the request's to settle.
    with CaptureQueriesContext(connection) as queries:
        asked = _ask(rng)
    sqls = [q["sql"] for q in queries.captured_queries]
    assert not any(sql.startswith("SELECT") and "cases_casetally" in sql for sql in sqls)
    assert not any(sql.startswith("SELECT") and "vault_grant" in sql for sql in sqls)
    assert RequestTally.objects.filter(request_id=asked.pk).exists()
    assert CaseTally.objects.filter(case_id__in=asked.cases.values("pk")).count() == (
        asked.cases.count()
    )
    _check([alice, bob, dave])
    # A recount from the cases themselves gives what the portal's writes kept.
    kept = sorted(CaseTally.objects.values_list("case_id", "holder_set_id", "state", "urgency"))
    tallies_rebuild()
    assert (
        sorted(CaseTally.objects.values_list("case_id", "holder_set_id", "state", "urgency"))
        == kept
    )
    _check([alice, bob, dave])


def test_counts_of_new_cases_add_to_existing_rows_and_count_their_due_day(alice, dave) -> None:
    # Written twice for the same holders: the second time every counter row exists already
    # (the upserts' conflict path), and a case with a next contact is counted on its day.
    from haven.cases.models import HolderSetCount, HolderSetDue
    from haven.cases.tallies import tallies_of_new
    from haven.db.rows import Rows

    holders = [TeamKey.objects.get(kind="intake", active=True)]
    due = timezone.now() + dt.timedelta(days=2)
    for _ in range(2):
        cases = [
            Case(state="received", urgency=2, next_contact_due=due),
            Case(state="received", urgency=2, next_contact_due=None),
        ]
        moves = tallies_of_new(holders=holders, requests=[], cases=cases, rows=Rows())
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params in moves.statements:
                cursor.execute(sql, params)
    assert (
        sum(HolderSetCount.objects.filter(state="received", urgency=2).values_list("n", flat=True))
        == 4
    )
    day = due.astimezone(dt.UTC).date()
    assert list(HolderSetDue.objects.values_list("day", "n")) == [(day, 2)]


def test_counts_of_new_records_are_refused_for_people_as_holders(alice) -> None:
    from haven.cases.tallies import tallies_of_new
    from haven.db.rows import Rows

    rows = Rows()
    with pytest.raises(ValueError, match="team keys only"):
        tallies_of_new(holders=[alice], requests=[], cases=[Case(state="received")], rows=rows)
    assert len(rows) == 0
