"""What retention will destroy, and when: shown to supervisors before it happens."""

from __future__ import annotations

from django.db.models import QuerySet

from haven.retention.models import RetentionNotice


def retention_upcoming() -> QuerySet[RetentionNotice]:
    """Cases announced for destruction, soonest first, with any hold."""
    return RetentionNotice.objects.select_related("case", "case__retention_hold").order_by(
        "purge_after"
    )
