from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    INTAKE = "intake", _("Intake officer")
    CASEWORKER = "caseworker", _("Caseworker")
    SUPERVISOR = "supervisor", _("Supervisor")
    PARTNER_LIAISON = "partner_liaison", _("Partner liaison")
    PRESS = "press", _("Press officer")
    AUDITOR = "auditor", _("Auditor")
    ADMIN = "admin", _("Administrator")


class Team(models.Model):
    name = models.CharField(max_length=80, unique=True)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A staff member. Being an administrator does not let one read cases."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CASEWORKER)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    partner = models.ForeignKey(
        "referrals.Partner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="For partner liaisons: the agency they work for.",
    )
    preferred_language = models.CharField(max_length=8, default="en")
    password_change_required = models.BooleanField(
        default=False,
        help_text="Someone else chose their password (an administrator creating or resetting the "
        "account): they must choose their own before anyone shares keys with them.",
    )


class RecoveryCode(models.Model):
    """A one-time code for logging in without the authenticator app. Only its digest is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.BinaryField(unique=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Recovery code of {self.user_id}"
