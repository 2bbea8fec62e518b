"""Which cases are due to be destroyed, since when supervisors could see it, and holds."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RetentionNotice(models.Model):
    """A case past its retention period, shown to supervisors from ``announced_at``; `haven purge`
    destroys it once the notice period has passed (unless it is held or left the final state)."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="retention_notice"
    )
    announced_at = models.DateTimeField()
    purge_after = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Retention notice for {self.case_id}"


class RetentionHold(models.Model):
    """A supervisor keeps a case beyond its retention period, until a date (audited)."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="retention_hold"
    )
    until = models.DateTimeField()
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Hold on {self.case_id} until {self.until:%Y-%m-%d}"
