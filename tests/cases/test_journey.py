"""The journey state machine: allowed moves, refusals, and random walks through real services."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haven.cases.journey import (
    MAIN_PATH,
    TERMINAL,
    TRANSITIONS,
    State,
    TransitionError,
    allowed_targets,
    check_transition,
)
from haven.cases.models import Case, JourneyEvent
from haven.cases.services import journey_advance
from tests.factories import make_case


def test_main_path_runs_from_received_to_closed_one_step_at_a_time():
    for here, there in zip(MAIN_PATH, MAIN_PATH[1:], strict=False):
        assert check_transition(here, there) == there


def test_terminal_states_allow_no_move():
    for state in TERMINAL:
        assert TRANSITIONS[state] == frozenset()


def test_skipping_vetting_is_refused():
    with pytest.raises(TransitionError, match="cannot move"):
        check_transition(State.RECEIVED, State.ARRIVED)


def test_travel_news_arriving_late_may_skip_ahead_within_the_journey_out():
    assert check_transition(State.LEFT_WORKPLACE, State.IN_THIRD_COUNTRY) == State.IN_THIRD_COUNTRY


def test_an_unknown_state_is_a_clear_error():
    with pytest.raises(TransitionError, match="not a journey state"):
        check_transition(State.RECEIVED, "teleported")


def test_lost_contact_can_return_to_where_it_left_and_nowhere_else_on_the_path():
    assert State.IN_TRANSIT in allowed_targets(State.LOST_CONTACT, returns_to=State.IN_TRANSIT)
    assert State.AWAITING_FLIGHT not in allowed_targets(
        State.LOST_CONTACT, returns_to=State.IN_TRANSIT
    )


def test_every_non_terminal_state_can_still_end():
    """No state is a trap: from each active state a terminal state is reachable."""
    for start in State:
        if start in TERMINAL:
            continue
        seen, frontier = {start}, [start]
        while frontier:
            here = frontier.pop()
            for there in TRANSITIONS[here]:
                if there not in seen:
                    seen.add(there)
                    frontier.append(there)
        assert seen & TERMINAL, start


@pytest.mark.django_db
def test_a_refused_transition_changes_nothing(ctx, alice):
    case = make_case(ctx=ctx, actor=alice)
    before = (
        case.state,
        case.version,
        case.payload,
        JourneyEvent.objects.filter(case=case).count(),
    )

    with pytest.raises(TransitionError):
        journey_advance(
            ctx=ctx, actor=alice, case=case, to_state=State.ARRIVED, expected_version=case.version
        )

    case.refresh_from_db()
    assert (
        case.state,
        case.version,
        bytes(case.payload),
        JourneyEvent.objects.filter(case=case).count(),
    ) == (
        before[0],
        before[1],
        bytes(before[2]),
        before[3],
    )


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    choices=st.lists(st.integers(min_value=0, max_value=len(State) - 1), min_size=1, max_size=25)
)
def test_random_transition_sequences_never_reach_an_invalid_state_and_keep_a_full_history(
    ctx, alice, choices
):
    """Random moves, allowed or not, through the real service: the history always explains the state."""
    case = make_case(ctx=ctx, actor=alice)
    states = list(State)
    for choice in choices:
        target = states[choice]
        allowed = target in allowed_targets(case.state, returns_to=case.returns_to or None)
        try:
            journey_advance(
                ctx=ctx, actor=alice, case=case, to_state=target, expected_version=case.version
            )
        except TransitionError:
            assert not allowed
        else:
            assert allowed
        case = Case.objects.select_related("data_key", "person").get(pk=case.pk)
        assert case.state in State.values
        events = list(JourneyEvent.objects.filter(case=case).order_by("case_version"))
        assert events[0].from_state == "" and events[0].to_state == State.RECEIVED
        for before, after in zip(events, events[1:], strict=False):
            assert after.from_state == before.to_state
        assert events[-1].to_state == case.state
        assert [e.case_version for e in events] == list(
            range(1, case.version + 1)
        )  # nothing silent
