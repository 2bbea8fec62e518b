"""Statistics services: each case's sealed facts, releases, and the story's counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from haven.audit.models import AuditEntry
from haven.cases.journey import State
from haven.cases.models import Case
from haven.cases.services import PersonInput, case_delete, journey_advance, person_update
from haven.crypto import CryptoError
from haven.retention.services import retention_purge
from haven.stats import selectors, services
from haven.stats.models import CaseFacts, FactsSnapshot, Release, ReleaseStatus
from haven.stats.selectors import StatisticsKeyMissing
from haven.stats.tables import parse_month
from haven.vault.holders import statistics_key
from haven.vault.models import KeyShare
from tests.factories import ctx_for, make_case, make_request
from tests.stats.conftest import seed_story, story_years

pytestmark = pytest.mark.django_db


def _facts(heidi_ctx, case):
    row = CaseFacts.objects.get(case=case)
    return heidi_ctx.facts_open(f"t:{row.team_key_id}", bytes(row.sealed))


def _page(ctx, user, start, end, grain="year", **filters):
    return selectors.statistics_page(
        ctx=ctx,
        actor=user,
        start=start,
        end=end,
        grain=grain,
        filters=selectors.clean_filters(filters),
        policy=services.default_policy(),
        today=timezone.localdate(),
    )


# --- The statistics key and the sealed facts ----------------------------------------------------------


def test_press_officers_get_the_statistics_key_and_supervisors_reach_it_through_theirs(
    alice, heidi, bob
):
    key = statistics_key()
    assert key is not None
    assert KeyShare.objects.filter(team_key=key, user=heidi).exists()
    assert key.ref in ctx_for(alice).holder_refs()
    assert key.ref not in ctx_for(bob).holder_refs()


def test_a_new_case_has_sealed_facts_that_its_writer_cannot_read(ctx, alice, bob, heidi_ctx):
    bob_ctx = ctx_for(bob)
    case = make_case(ctx=bob_ctx, actor=bob)
    row = CaseFacts.objects.get(case=case)
    with pytest.raises(CryptoError):
        bob_ctx.facts_open(f"t:{row.team_key_id}", bytes(row.sealed))
    facts = _facts(heidi_ctx, case)
    assert facts["ch"] == "direct_line"
    assert facts["oc"] == "restaurant_worker"
    assert facts["pr"] == "KP-03"  # Sinuiju, North Pyongan
    assert facts["sx"] == "female"
    assert facts["rq"] == 1 and facts["out"] == ""
    # Nothing of it is in the clear: not the categories, not the month.
    sealed = bytes(row.sealed)
    for clear in (b"restaurant_worker", b"KP-03", b"female", b"direct_line"):
        assert clear not in sealed


def test_facts_follow_the_journey_to_arrival(ctx, alice, heidi_ctx):
    case = make_case(ctx=ctx, actor=alice)
    first_row = CaseFacts.objects.get(case=case).pk
    path = [
        (State.VERIFYING, ""),
        (State.ACCEPTED, ""),
        (State.REFERRED, ""),
        (State.LEFT_WORKPLACE, "CN"),
        (State.IN_TRANSIT, "LA"),
        (State.IN_THIRD_COUNTRY, "TH"),
        (State.AWAITING_FLIGHT, "TH"),
        (State.ARRIVED, "KR"),
    ]
    for state, country in path:
        case.refresh_from_db()
        journey_advance(
            ctx=ctx,
            actor=alice,
            case=case,
            to_state=state,
            expected_version=case.version,
            country=country,
        )
    facts = _facts(heidi_ctx, case)
    assert facts["out"] == "arrived"
    assert facts["tc"] == "TH"
    assert facts["da"] == 0
    assert facts["om"] == timezone.localdate().strftime("%Y-%m")
    assert CaseFacts.objects.get(case=case).pk != first_row  # a new row: the snapshot sees it


def test_changing_the_person_changes_their_facts(ctx, alice, heidi_ctx):
    case = make_case(ctx=ctx, actor=alice)
    person_update(
        ctx=ctx,
        actor=alice,
        case=case,
        expected_version=case.person.version,
        person=PersonInput(
            name_hangul="김", sex="male", occupation="trader", origin_region="Hyesan"
        ),
    )
    facts = _facts(heidi_ctx, case)
    assert (facts["sx"], facts["oc"], facts["pr"]) == ("male", "trader", "KP-10")


def test_a_deleted_case_leaves_the_statistics_and_a_destroyed_one_stays_counted(ctx, alice):
    deleted = make_case(ctx=ctx, actor=alice)
    case_delete(ctx=ctx, actor=alice, case=deleted, expected_version=deleted.version)
    assert not CaseFacts.objects.filter(case_id=deleted.pk).exists()
    kept = make_case(ctx=ctx, actor=alice)
    row = CaseFacts.objects.get(case=kept).pk
    journey_advance(
        ctx=ctx, actor=alice, case=kept, to_state=State.DECLINED, expected_version=kept.version
    )
    kept.refresh_from_db()
    row = CaseFacts.objects.get(case=kept).pk
    later = timezone.now() + dt.timedelta(days=400)
    retention_purge(now=later)
    retention_purge(now=later + dt.timedelta(days=30))
    assert not Case.objects.filter(pk=kept.pk).exists()
    detached = CaseFacts.objects.get(pk=row)
    assert detached.case_id is None


def test_cases_recorded_before_statistics_are_counted_by_a_supervisor(ctx, alice, heidi):
    case = make_case(ctx=ctx, actor=alice)
    CaseFacts.objects.filter(case=case).delete()
    assert selectors.facts_missing() == 1
    with pytest.raises(PermissionDenied):
        services.case_facts_backfill(ctx=ctx_for(heidi), actor=heidi)
    assert services.case_facts_backfill(ctx=ctx, actor=alice) == (1, 0)
    assert selectors.facts_missing() == 0


def test_without_the_statistics_key_nothing_is_computed(ctx, alice, bob):
    with pytest.raises(StatisticsKeyMissing):
        selectors.facts_load(ctx=ctx_for(bob))


def test_the_snapshot_is_sealed_and_later_changes_are_read_on_top(ctx, alice, heidi, heidi_ctx):
    for _ in range(3):
        make_case(ctx=ctx, actor=alice)
    loaded = selectors.facts_load(ctx=heidi_ctx)
    services.facts_snapshot_write(ctx=heidi_ctx, actor=heidi, matrix=loaded.matrix)
    snapshot = FactsSnapshot.objects.get()
    assert b"\x93NUMPY" not in bytes(snapshot.matrix)  # the matrix is sealed
    newer = make_case(ctx=ctx, actor=alice)
    again = selectors.facts_load(ctx=heidi_ctx)
    assert len(again.matrix) == 4 and again.changed == 1
    case_delete(ctx=ctx, actor=alice, case=newer, expected_version=newer.version)
    assert len(selectors.facts_load(ctx=heidi_ctx).matrix) == 3


# --- The story's step -----------------------------------------------------------------------------------


def test_the_storys_counts_by_channel_and_occupation_keep_every_small_cell_back_underivably(
    ctx, alice, heidi, heidi_ctx
):
    seed_story(ctx=ctx, actor=alice)
    last, this = story_years()
    policy = services.default_policy()
    ask = services.release_request_clean(
        start=f"{last}-01",
        end=f"{this}-06",
        grain="year",
        tables=["requests:period:channel", "people:period:occupation"],
        policy=policy,
    )
    release = services.release_prepare(ctx=heidi_ctx, actor=heidi, ask=ask)
    view = selectors.release_view(ctx=heidi_ctx, user=heidi, release=release)
    requests, occupations = view.tables
    assert requests.figure(str(last), "total").shown == 30
    assert requests.figure(str(this), "total").shown == 20
    for table in view.tables:
        for figure in table.figures.values():
            if 0 < figure.value < policy.k:
                assert figure.suppressed, (table.spec.key, figure.row, figure.col)
            if figure.suppressed:
                assert figure.shown is None
    report = selectors.release_audit(ctx=heidi_ctx, release=release)
    assert report.passed
    assert report.findings and all(f.interval.width >= policy.protection for f in report.findings)


def test_a_release_is_published_by_another_supervisor_and_then_exported(
    ctx, alice, heidi, heidi_ctx, ivan
):
    seed_story(ctx=ctx, actor=alice, last=12, this=6)
    last, _this = story_years()
    ask = services.release_request_clean(
        start=f"{last}-01",
        end=f"{last}-12",
        grain="year",
        tables=["requests:period:channel"],
        policy=services.default_policy(),
    )
    release = services.release_prepare(ctx=ctx, actor=alice, ask=ask)
    with pytest.raises(PermissionDenied):
        services.release_approve(ctx=ctx, actor=alice, release=release, expected_version=1)
    with pytest.raises(PermissionDenied):
        services.release_approve(ctx=heidi_ctx, actor=heidi, release=release, expected_version=1)
    with pytest.raises(ValidationError):
        selectors.release_export(
            ctx=heidi_ctx, user=heidi, release=release, fmt="csv", language="en"
        )
    published = services.release_approve(
        ctx=ctx_for(ivan), actor=ivan, release=release, expected_version=1
    )
    assert published.status == ReleaseStatus.PUBLISHED
    content, name, _type = selectors.release_export(
        ctx=heidi_ctx, user=heidi, release=published, fmt="csv", language="en"
    )
    assert name.endswith(".csv") and b"requests:period:channel" in content
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"stats.release_prepare", "stats.release_publish", "stats.export"} <= actions


def test_a_release_of_months_already_released_counts_them_as_released(
    ctx, alice, heidi, heidi_ctx, ivan
):
    seed_story(ctx=ctx, actor=alice, last=24, this=6)
    last, _this = story_years()

    def release(grain):
        ask = services.release_request_clean(
            start=f"{last}-01",
            end=f"{last}-12",
            grain=grain,
            tables=["requests:period:channel"],
            policy=services.default_policy(),
        )
        return services.release_prepare(ctx=heidi_ctx, actor=heidi, ask=ask)

    year = services.release_approve(
        ctx=ctx_for(ivan), actor=ivan, release=release("year"), expected_version=1
    )
    # A late request for last year, recorded after the year was released.
    make_request(
        ctx=ctx,
        actor=alice,
        received_at=dt.datetime(last, 5, 5, 9, tzinfo=dt.UTC),
    )
    page = _page(heidi_ctx, heidi, f"{last}-01", f"{last}-12")
    assert page.frozen_months == 12 and page.late_changes == 1
    assert page.tables[0].figure(str(last), "total").value == 24
    quarters = release("quarter")
    view = selectors.release_view(ctx=heidi_ctx, user=heidi, release=quarters)
    assert view.earlier == [str(year.pk)]
    assert sum(view.tables[0].figure(q, "total").value for q in view.tables[0].row_codes) == 24
    assert selectors.release_audit(ctx=heidi_ctx, release=quarters).passed


def test_approval_is_refused_when_a_release_of_the_same_months_was_published_meanwhile(
    ctx, alice, heidi, heidi_ctx, ivan
):
    seed_story(ctx=ctx, actor=alice, last=12, this=6)
    last, _this = story_years()

    def prepare(grain):
        ask = services.release_request_clean(
            start=f"{last}-01",
            end=f"{last}-12",
            grain=grain,
            tables=["requests:period:channel"],
            policy=services.default_policy(),
        )
        return services.release_prepare(ctx=heidi_ctx, actor=heidi, ask=ask)

    first, second = prepare("year"), prepare("quarter")
    services.release_approve(ctx=ctx_for(ivan), actor=ivan, release=first, expected_version=1)
    with pytest.raises(ValidationError, match="prepare it again"):
        services.release_approve(ctx=ctx_for(ivan), actor=ivan, release=second, expected_version=1)
    assert Release.objects.get(pk=second.pk).status == ReleaseStatus.PREPARED


def test_rounding_rounds_every_figure_and_is_audited(ctx, alice, heidi, heidi_ctx):
    seed_story(ctx=ctx, actor=alice)
    last, this = story_years()
    ask = services.release_request_clean(
        start=f"{last}-01",
        end=f"{this}-06",
        grain="year",
        tables=["requests:period:channel"],
        policy=services.policy_clean(method="round", base=5),
    )
    release = services.release_prepare(ctx=heidi_ctx, actor=heidi, ask=ask)
    view = selectors.release_view(ctx=heidi_ctx, user=heidi, release=release)
    for figure in view.tables[0].figures.values():
        assert figure.status == "rounded" and figure.shown % 5 == 0


# --- Bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, field",
    [
        ({"start": "1000-01", "end": "9999-12"}, "start"),
        ({"start": "2016-01", "end": "2026-12"}, "end"),
        ({"start": "2024-13"}, "start"),
        ({"start": "last year"}, "start"),
        ({"tables": ["people:shoe_size"]}, "tables"),
        ({"tables": ["votes:period"]}, "tables"),
        ({"tables": []}, "tables"),
        ({"tables": ["arrivals:period:period"]}, "tables"),
        ({"grain": "decade"}, "grain"),
    ],
)
def test_bad_release_requests_get_a_clear_error_and_store_nothing(ctx, alice, heidi, change, field):
    last, _this = story_years()
    asked = {
        "start": f"{last}-01",
        "end": f"{last}-12",
        "grain": "year",
        "tables": ["requests:period"],
    }
    asked.update(change)
    with pytest.raises(ValidationError) as error:
        ask = services.release_request_clean(policy=services.default_policy(), **asked)
        services.release_prepare(ctx=ctx_for(heidi), actor=heidi, ask=ask)
    assert field in error.value.message_dict
    assert not Release.objects.exists()


def test_the_running_month_is_never_counted(ctx, alice, heidi):
    today = timezone.localdate()
    with pytest.raises(ValidationError, match="closed periods"):
        services.release_request_clean(
            start=f"{today.year}-01",
            end=today.strftime("%Y-%m"),
            grain="month",
            tables=["requests:period"],
            policy=services.default_policy(),
        )


@pytest.mark.parametrize("k", [1, 0, -3, "two"])
def test_k_below_two_is_refused(k):
    with pytest.raises(ValidationError) as error:
        services.policy_clean(k=k)
    assert "k" in error.value.message_dict


def test_unknown_categories_in_filters_are_refused():
    with pytest.raises(ValidationError, match="Unknown occupation"):
        selectors.clean_filters({"occupation": ["astronaut"]})
    with pytest.raises(ValidationError):
        selectors.clean_filters({"shoe_size": ["42"]})


def test_the_page_filters_and_counts_only_closed_months(ctx, alice, heidi, heidi_ctx):
    seed_story(ctx=ctx, actor=alice)
    last, this = story_years()
    everyone = _page(heidi_ctx, heidi, f"{last}-01", f"{this}-06")
    brokers = _page(heidi_ctx, heidi, f"{last}-01", f"{this}-06", channel=["broker"])
    total = everyone.tables[0].figure("total", "total").value
    assert total == 50
    assert (
        brokers.tables[0].figure("total", "total").value
        == brokers.tables[0].figure("total", "broker").value
    )
    assert brokers.tables[0].figure("total", "total").value < total
    assert parse_month(f"{this}-06", field_name="end") == everyone.end


def test_a_supervisor_shares_the_statistics_key_with_a_new_press_officer(ctx, alice):
    from haven.accounts.models import Role
    from haven.vault.services import team_keys_share_pending
    from tests.factories import UserFactory

    newcomer = UserFactory(username="judy", role=Role.PRESS)
    ctx_for(newcomer)  # their first login makes their key pair
    assert team_keys_share_pending(ctx=ctx, actor=alice) >= 1
    judy_ctx = ctx_for(newcomer)
    assert statistics_key().ref in judy_ctx.holder_refs()
    selectors.facts_load(ctx=judy_ctx)  # opens without a case key


def test_time_to_arrival_is_shown_in_weeks_over_at_least_k_arrivals():
    import statistics

    import numpy as np

    days = [10, 20, 30, 35, 49, 56, 70, 84, 91, 120, 150]
    pairs = [["2025-03", d] for d in days]
    shown = selectors.arrival_times(pairs, k=10)
    q1, median, q3 = statistics.quantiles(days, n=4, method="inclusive")
    assert shown == {
        "n": 11,
        "shown": True,
        "q1_weeks": round(q1 / 7),
        "median_weeks": round(median / 7),
        "q3_weeks": round(q3 / 7),
    }
    assert selectors.arrival_times(np.array([[1, d] for d in days]), k=10) == shown
    assert selectors.arrival_times(pairs[:9], k=10) == {"n": 9, "shown": False}
