"""Who holds which keys: the reads behind need-to-know.

A person holds their own key pair, the team keys shared with them, and every team key sealed to a
team key they hold (supervisors hold each casework team's key; a team key's older generations are
sealed to the newer). Access to a record is a non-stale grant addressed to one of those.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from haven.vault.models import Grant, KeyShare, TeamKey, TeamKeyKind

if TYPE_CHECKING:
    from haven.accounts.models import Team, User
    from haven.referrals.models import Partner

SYSTEM_KINDS = (TeamKeyKind.INTAKE, TeamKeyKind.SUPERVISORS, TeamKeyKind.STAFF)
# The press office's key: cover values and statements are sealed to it. Press officers hold it
# directly; supervisors through the supervisors' key (it is sealed to that, like a team's key).


def system_key(kind: str) -> TeamKey | None:
    return TeamKey.objects.filter(kind=kind, active=True).first()


def system_keys(*kinds: str) -> dict[str, TeamKey]:
    """The active organisation-wide keys of these kinds, in one query (as :func:`system_key`)."""
    found: dict[str, TeamKey] = {}
    for key in TeamKey.objects.filter(kind__in=kinds, active=True).order_by("pk"):
        found.setdefault(key.kind, key)
    return found


def statistics_key() -> TeamKey | None:
    """The active statistics key: each case's coarse facts are sealed to it (haven.stats)."""
    return system_key(TeamKeyKind.STATISTICS)


def team_key(team: Team | None) -> TeamKey | None:
    if team is None:
        return None
    return TeamKey.objects.filter(team=team, active=True).first()


def partner_key(partner: Partner | None) -> TeamKey | None:
    if partner is None:
        return None
    return TeamKey.objects.filter(partner=partner, active=True).first()


def held_team_key_ids(user: User) -> set[str]:
    """Every team key ``user`` can open: shared with them, or sealed to one they can open."""
    cached = getattr(user, "_haven_team_keys", None)
    if cached is not None:
        return set(cached)
    own = KeyShare.objects.filter(user=user).values_list("team_key_id", flat=True)
    chained = KeyShare.objects.filter(via_key__isnull=False).values_list(
        "team_key_id", "via_key_id"
    )
    return held_team_keys_remember(user, own=list(own), chained=list(chained))


def held_team_keys_remember(
    user: User, *, own: Iterable[Any], chained: Iterable[tuple[Any, Any]]
) -> set[str]:
    """Work out and remember :func:`held_team_key_ids` from the key shares a caller read
    anyway: ``own``, the team keys of ``user``'s shares; ``chained``, (team key, the key it is
    sealed to) of every share between team keys. :func:`~haven.vault.context.context_for`
    reads the same rows with their sealed keys, and every page made both reads."""
    held = {str(pk) for pk in own}
    links = [(str(team_key_id), str(via_id)) for team_key_id, via_id in chained]
    grew = True
    while grew:
        grew = False
        for team_key_id, via_id in links:
            if via_id in held and team_key_id not in held:
                held.add(team_key_id)
                grew = True
    user._haven_team_keys = frozenset(held)  # type: ignore[attr-defined]
    return held


def forget_held(user: User) -> None:
    if hasattr(user, "_haven_team_keys"):
        del user._haven_team_keys


def user_grants(user: User) -> QuerySet[Grant]:
    """The live grants that ``user`` can open."""
    return Grant.objects.filter(
        Q(user_id=user.pk) | Q(team_key_id__in=list(held_team_key_ids(user))), stale=False
    )


def holds_key(user: User, data_key_id: Any) -> bool:
    return user_grants(user).filter(data_key_id=data_key_id).exists()


def expected_key_kinds(user: User) -> list[TeamKey]:
    """The active team keys ``user``'s role and team call for (membership is by role)."""
    from haven.accounts.models import Role

    if not user.is_active:
        return []
    keys: list[TeamKey | None] = []
    if user.role == Role.SUPERVISOR:
        keys += [system_key(k) for k in SYSTEM_KINDS]
    elif user.role == Role.INTAKE:
        keys += [system_key(TeamKeyKind.INTAKE), system_key(TeamKeyKind.STAFF)]
    elif user.role == Role.CASEWORKER:
        keys += [system_key(TeamKeyKind.STAFF), team_key(user.team)]
    elif user.role == Role.PARTNER_LIAISON:
        keys.append(partner_key(user.partner))
    elif user.role == Role.PRESS:
        # Supervisors reach it through their own key (it is sealed to the supervisors' key).
        keys.append(statistics_key())
        keys.append(system_key(TeamKeyKind.PRESS))
    return [key for key in keys if key is not None]


def pending_shares(user: User | None = None) -> list[tuple[User, TeamKey]]:
    """People whose role calls for a team key they do not hold yet (after joining, or after an
    administrator reset their password). A current holder must share it with them."""
    from haven.accounts.models import User as UserModel

    people = UserModel.objects.filter(is_active=True, key__isnull=False).select_related(
        "team", "partner"
    )
    if user is not None:
        people = people.filter(pk=user.pk)
    shared = set(KeyShare.objects.filter(user__isnull=False).values_list("user_id", "team_key_id"))
    pending: list[tuple[User, TeamKey]] = []
    for person in people.order_by("username"):
        for key in expected_key_kinds(person):
            if (person.pk, key.pk) not in shared:
                pending.append((person, key))
    return pending


def access_holders(data_key_id: Any) -> list[Grant]:
    """Who holds a record's key (for the case page): people and team keys, with who granted."""
    return list(
        Grant.objects.filter(data_key_id=data_key_id)
        .select_related("user", "team_key", "team_key__team", "team_key__partner", "granted_by")
        .order_by("team_key__kind", "user__username")
    )


def case_holders(
    *,
    actor: User | None,
    owner: User | None = None,
    team: Team | None = None,
    system: dict[str, TeamKey] | None = None,
) -> list[Any]:
    """Who a new request, group or case is sealed to: whoever recorded it, its owner and the
    owner's team, the intake team and the supervisors (who triage and assign). ``system``: the
    active system keys, when the caller looked them up with others (:func:`system_keys`)."""
    if system is None:
        system = system_keys(TeamKeyKind.INTAKE, TeamKeyKind.SUPERVISORS)
    holders: list[Any] = [
        actor,
        owner,
        team_key(team),
        system.get(TeamKeyKind.INTAKE),
        system.get(TeamKeyKind.SUPERVISORS),
    ]
    return _unique(holders)


def staff_holders(*, actor: User | None) -> list[Any]:
    """Who a broker's record is sealed to: everyone who works with cases (the all-staff key)."""
    return _unique([actor, system_key(TeamKeyKind.STAFF), system_key(TeamKeyKind.SUPERVISORS)])


def _unique(holders: list[Any]) -> list[Any]:
    seen: set[tuple[str, Any]] = set()
    result = []
    for holder in holders:
        if holder is None or getattr(holder, "pk", None) is None:
            continue
        marker = (type(holder).__name__, holder.pk)
        if marker not in seen:
            seen.add(marker)
            result.append(holder)
    return result


def live_holders(data_key_id: Any) -> list[Any]:
    """The people and team keys holding a live grant of a data key."""
    grants = Grant.objects.filter(data_key_id=data_key_id, stale=False).select_related(
        "user", "team_key"
    )
    return _unique([grant.user or grant.team_key for grant in grants])
