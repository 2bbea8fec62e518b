from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from haven.accounts.models import Role, Team, User
from haven.audit.services import audit_record
from haven.crypto import CryptoError
from haven.vault.services import (
    key_shares_sync,
    user_key_create,
    user_key_replace,
    user_key_rewrap,
)

if TYPE_CHECKING:
    from haven.referrals.models import Partner


# Temporary passwords: 5 groups of 5 from an alphabet without look-alikes (about 124 bits).
_TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def temporary_password_new() -> str:
    """A password an administrator reads out to someone once (the staff pages show it once); the
    person must replace it at their first login (``password_change_required``)."""
    return "-".join(
        "".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(5)) for _ in range(5)
    )


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    team: Team | None = None,
    actor: User | None = None,
    first_name: str = "",
    last_name: str = "",
    validate: bool = True,
    chosen_by_them: bool = False,
) -> User:
    """Create a staff account; the password is checked against the strength rules."""
    username = username.strip()
    if not username or len(username) > 150:
        raise ValidationError({"username": "A username of 1 to 150 characters is required."})
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; choose one of {', '.join(Role.values)}."}
        )
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"The username {username!r} is taken."})
    user = User(username=username, role=role, team=team, first_name=first_name, last_name=last_name)
    if validate:
        validate_password(password, user)
    user.set_password(password)
    user.is_staff = role == Role.ADMIN
    # A password typed by someone else (an administrator at `haven createuser`) must be replaced
    # by the person before any key is shared with them.
    user.password_change_required = not chosen_by_them
    user.save()
    # The key pair comes with the account; the team keys its role calls for wait for a holder to
    # share them (an administrator creating the account gives it no access).
    user_key_create(user=user, password=password)
    audit_record(actor=actor, action="user.create", target=user, detail={"role": role})
    return user


@transaction.atomic
def user_set_partner(*, actor: User | None, user: User, partner: Partner | None) -> User:
    """Tie a partner liaison to the agency they work for (they then see its referrals only)."""
    if partner is not None and user.role != Role.PARTNER_LIAISON:
        raise ValidationError({"partner": "Only partner liaisons belong to a partner agency."})
    user.partner = partner
    user.save(update_fields=["partner"])
    audit_record(
        actor=actor,
        action="user.partner",
        target=user,
        detail={"partner": str(partner.pk) if partner else None},
    )
    return user


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str) -> User:
    """Change one's own password: the same key pair, re-wrapped, so nothing held is lost."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": "Your current password is not right."})  # nosec B105  # a message, not a password
    validate_password(new_password, user)
    try:
        user_key_rewrap(user=user, old_password=old_password, new_password=new_password)
    except CryptoError as exc:
        raise ValidationError({"old_password": "Your key could not be unlocked."}) from exc  # nosec B105  # a message, not a password
    user.set_password(new_password)
    user.password_change_required = False
    user.save(update_fields=["password", "password_change_required"])
    audit_record(actor=user, action="user.password_change", target=user)
    return user


@transaction.atomic
def user_password_reset(
    *, actor: User | None, user: User, new_password: str, reset_two_factor: bool = False
) -> int:
    """An administrator sets a new password for someone who forgot theirs.

    Their old private key cannot be opened without the old password, so they get a new key pair:
    everything they held is lost until a colleague grants it again (the Keys page) or the
    recovery key restores it (`haven recover restore-access`). Returns how many grants were lost.
    """
    if actor is not None and actor.role != Role.ADMIN:
        raise PermissionDenied("Only administrators reset passwords.")
    if actor is not None and actor.pk == user.pk:
        raise ValidationError({"user": "Change your own password instead of resetting it."})
    validate_password(new_password, user)
    from haven.accounts.two_factor import two_factor_reset

    lost = user_key_replace(user=user, password=new_password)
    if reset_two_factor:
        # Only when they lost their phone *and* their recovery codes: whoever knows the new
        # password can then enrol an authenticator in their name, so check who they are first.
        two_factor_reset(user=user)
    user.set_password(new_password)
    user.password_change_required = True
    user.save(update_fields=["password", "password_change_required"])
    sessions_end_for(user=user)  # every session of theirs carries the old key
    user.api_tokens.all().delete()
    audit_record(
        actor=actor, action="user.password_reset", target=user, detail={"grants_lost": lost}
    )
    return lost


@transaction.atomic
def user_update(
    *,
    actor: User | None,
    user: User,
    role: str | None = None,
    team: Team | None | str = "",
    is_active: bool | None = None,
) -> User:
    """Change someone's role, team or whether they may log in (administrators; never oneself).

    Team keys their new role or team no longer calls for are taken away at once and marked for
    replacement; keys it newly calls for wait for a holder to share them (the Keys page).
    """
    if actor is not None and actor.role != Role.ADMIN:
        raise PermissionDenied("Only administrators change roles and teams.")
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied("Nobody changes their own role, team or access.")
    changed: list[str] = []
    if role is not None:
        if role not in Role.values:
            raise ValidationError(
                {"role": f"Unknown role {role!r}; choose one of {', '.join(Role.values)}."}
            )
        if role != user.role:
            user.role = role
            user.is_staff = role == Role.ADMIN
            changed.append("role")
    if team != "" and team != user.team:
        user.team = team if isinstance(team, Team) else None
        changed.append("team")
    if is_active is not None and is_active != user.is_active:
        user.is_active = is_active
        changed.append("is_active")
    if not changed:
        return user
    user.save()
    removed = key_shares_sync(actor=actor, user=user)
    audit_record(
        actor=actor,
        action="user.update",
        target=user,
        detail={"fields": changed, "role": user.role, "keys_removed": removed},
    )
    return user


def sessions_end_for(*, user: User) -> int:
    """End every session of ``user``, those half-way through logging in included. Returns how many."""
    from django.contrib.sessions.models import Session

    ended = 0
    for session in Session.objects.all().iterator():
        data = session.get_decoded()
        pending = data.get("haven_pending_login")
        if data.get("_auth_user_id") == str(user.pk) or (
            isinstance(pending, dict) and pending.get("user") == user.pk
        ):
            session.delete()
            ended += 1
    return ended
