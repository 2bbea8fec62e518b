"""Lockdown: every session ends and logins stay suspended until two supervisors lift it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Lockdown(models.Model):
    """One lockdown (or drill). Active while not lifted and not a drill."""

    started_at = models.DateTimeField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    drill = models.BooleanField(default=False)
    sessions_ended = models.PositiveIntegerField(default=0)
    tokens_ended = models.PositiveIntegerField(default=0)
    first_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{'Drill' if self.drill else 'Lockdown'} of {self.started_at:%Y-%m-%d %H:%M}"
