"""The journey as one state machine. Every allowed move is listed here and nowhere else."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    RECEIVED = "received", _("Received")
    VERIFYING = "verifying", _("Verifying")
    ACCEPTED = "accepted", _("Accepted")
    REFERRED = "referred", _("Referred")
    LEFT_WORKPLACE = "left_workplace", _("Left workplace")
    IN_TRANSIT = "in_transit", _("In transit")
    IN_THIRD_COUNTRY = "in_third_country", _("In third country")
    AWAITING_FLIGHT = "awaiting_flight", _("Awaiting flight")
    ARRIVED = "arrived", _("Arrived")
    HANDED_OVER = "handed_over", _("Handed over")
    CLOSED = "closed", _("Closed")
    DECLINED = "declined", _("Declined")
    DUPLICATE = "duplicate", _("Duplicate")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    LOST_CONTACT = "lost_contact", _("Lost contact")
    DETAINED = "detained", _("Detained")
    REPATRIATED = "repatriated", _("Repatriated")
    DECEASED = "deceased", _("Deceased")


S = State
MAIN_PATH: tuple[State, ...] = (
    S.RECEIVED,
    S.VERIFYING,
    S.ACCEPTED,
    S.REFERRED,
    S.LEFT_WORKPLACE,
    S.IN_TRANSIT,
    S.IN_THIRD_COUNTRY,
    S.AWAITING_FLIGHT,
    S.ARRIVED,
    S.HANDED_OVER,
    S.CLOSED,
)
TERMINAL: frozenset[State] = frozenset(
    {S.CLOSED, S.DECLINED, S.DUPLICATE, S.WITHDRAWN, S.REPATRIATED, S.DECEASED}
)
# On the way out, news often arrives late: a person may be reported already in the third country.
_TRAVEL = (S.LEFT_WORKPLACE, S.IN_TRANSIT, S.IN_THIRD_COUNTRY, S.AWAITING_FLIGHT, S.ARRIVED)
# States in which the person is on the move and can be caught.
EXPOSED: frozenset[State] = frozenset(
    {S.LEFT_WORKPLACE, S.IN_TRANSIT, S.IN_THIRD_COUNTRY, S.AWAITING_FLIGHT}
)
# States from which contact can be lost (and to which `lost_contact` can return).
CAN_LOSE_CONTACT: frozenset[State] = frozenset({S.VERIFYING, S.ACCEPTED, S.REFERRED, *EXPOSED})
# Nothing about a person is confirmed outward before this.
SAFE: frozenset[State] = frozenset({S.ARRIVED, S.HANDED_OVER, S.CLOSED})


def _build() -> dict[State, frozenset[State]]:
    moves: dict[State, set[State]] = {state: set() for state in State}
    for here, there in zip(MAIN_PATH, MAIN_PATH[1:], strict=False):
        moves[here].add(there)
    for i, here in enumerate(_TRAVEL[:-1]):
        moves[here].update(_TRAVEL[i + 1 :])
    for state in (S.RECEIVED, S.VERIFYING):
        moves[state].update({S.DECLINED, S.DUPLICATE})
    for state in (S.RECEIVED, S.VERIFYING, S.ACCEPTED, S.REFERRED, *EXPOSED):
        moves[state].add(S.WITHDRAWN)
    for state in CAN_LOSE_CONTACT:
        moves[state].add(S.LOST_CONTACT)
    for state in EXPOSED:
        moves[state].update({S.DETAINED, S.DECEASED})
    moves[S.DETAINED].update({S.REPATRIATED, S.DECEASED, S.IN_TRANSIT, S.IN_THIRD_COUNTRY})
    moves[S.LOST_CONTACT].update({S.DETAINED, S.REPATRIATED, S.DECEASED, S.WITHDRAWN, S.CLOSED})
    return {state: frozenset(targets) for state, targets in moves.items()}


TRANSITIONS: dict[State, frozenset[State]] = _build()


class TransitionError(Exception):
    """A move the journey does not allow. Nothing was changed. ``case_id``: the case that could
    not move, when one of several (a group move) could not; pages name the person."""

    def __init__(self, here: str, there: str, reason: str | None = None, *, case_id: object = None):
        self.here, self.there, self.case_id = here, there, case_id
        label_here = State(here).label if here in State.values else here
        label_there = State(there).label if there in State.values else there
        super().__init__(
            reason
            or gettext("A case cannot move from “%(here)s” to “%(there)s”.")
            % {"here": label_here, "there": label_there}
        )


def allowed_targets(state: str, *, returns_to: str | None = None) -> list[State]:
    """The states a case in ``state`` may move to, in journey order."""
    if state not in State.values:
        return []
    targets = set(TRANSITIONS[State(state)])
    if state == S.LOST_CONTACT and returns_to in State.values:
        targets.add(State(returns_to))
    order = list(State)
    return sorted(targets, key=order.index)


# How far ahead on the main path one submission may take a case, recording each step between:
# a group known to have crossed into Thailand is moved there at once, not in five submissions.
# Never past ``arrived``: handing over and closing are decisions of their own.
_LAST_PASSED_TO = S.ARRIVED


def reachable_targets(state: str, *, returns_to: str | None = None) -> list[State]:
    """The states one submission may move a case in ``state`` to, in journey order: every
    allowed move, and the states further along the main path up to ``arrived``, reached
    through the steps between (:func:`journey_path`)."""
    targets = set(allowed_targets(state, returns_to=returns_to))
    if state in MAIN_PATH:
        here = MAIN_PATH.index(State(state))
        targets.update(MAIN_PATH[here + 1 : MAIN_PATH.index(_LAST_PASSED_TO) + 1])
    order = list(State)
    return sorted(targets, key=order.index)


def journey_path(state: str, target: str, *, returns_to: str | None = None) -> list[State]:
    """The steps from ``state`` to ``target``: ``[target]`` when the move is allowed at once,
    else the shortest way along the main path (each step an allowed move), ending at it.
    Raises :class:`TransitionError` when ``target`` is not reachable in one submission."""
    if target in State.values and State(target) in allowed_targets(state, returns_to=returns_to):
        return [State(target)]
    if target not in State.values or State(target) not in reachable_targets(
        state, returns_to=returns_to
    ):
        check_transition(state, target, returns_to=returns_to)  # raises with the reason
    # Breadth first over main-path states: the fewest steps, each one the journey allows.
    ahead = set(MAIN_PATH)
    previous: dict[State, State] = {}
    frontier = [State(state)]
    while frontier and State(target) not in previous:
        following = []
        for here in frontier:
            for there in sorted(TRANSITIONS[here] & ahead, key=list(State).index):
                if there not in previous and there != State(state):
                    previous[there] = here
                    following.append(there)
        frontier = following
    path = [State(target)]
    while path[-1] in previous and previous[path[-1]] != State(state):
        path.append(previous[path[-1]])
    return list(reversed(path))


def check_transition(state: str, target: str, *, returns_to: str | None = None) -> State:
    """Return ``target`` as a State if the move is allowed, else raise :class:`TransitionError`."""
    if target not in State.values:
        raise TransitionError(
            state, target, gettext("“%(target)s” is not a journey state.") % {"target": target}
        )
    if State(target) not in allowed_targets(state, returns_to=returns_to):
        raise TransitionError(state, target)
    return State(target)


def is_active(state: str) -> bool:
    return state not in TERMINAL
