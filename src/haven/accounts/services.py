from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from haven.accounts.models import Role, Team, User
from haven.audit.services import audit_record
from haven.vault.services import user_key_create

if TYPE_CHECKING:
    from haven.referrals.models import Partner


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
