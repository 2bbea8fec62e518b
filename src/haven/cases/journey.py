"""The journey as one state machine. Every allowed move is listed here and nowhere else."""

from __future__ import annotations

from django.db import models
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
    """A move the journey does not allow. Nothing was changed."""

    def __init__(self, here: str, there: str, reason: str | None = None):
        self.here, self.there = here, there
        label_here = State(here).label if here in State.values else here
        label_there = State(there).label if there in State.values else there
        super().__init__(reason or f"A case cannot move from “{label_here}” to “{label_there}”.")


def allowed_targets(state: str, *, returns_to: str | None = None) -> list[State]:
    """The states a case in ``state`` may move to, in journey order."""
    if state not in State.values:
        return []
    targets = set(TRANSITIONS[State(state)])
    if state == S.LOST_CONTACT and returns_to in State.values:
        targets.add(State(returns_to))
    order = list(State)
    return sorted(targets, key=order.index)


def check_transition(state: str, target: str, *, returns_to: str | None = None) -> State:
    """Return ``target`` as a State if the move is allowed, else raise :class:`TransitionError`."""
    if target not in State.values:
        raise TransitionError(state, target, f"“{target}” is not a journey state.")
    if State(target) not in allowed_targets(state, returns_to=returns_to):
        raise TransitionError(state, target)
    return State(target)


def is_active(state: str) -> bool:
    return state not in TERMINAL
