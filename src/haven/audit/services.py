from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from haven.audit.models import AuditEntry

# Detail keys that may carry only non-sensitive values (states, counts, ids, field names).
_ALLOWED_DETAIL_TYPES = (str, int, float, bool, type(None), list)


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry. Call inside the transaction of the action it records."""
    detail = detail or {}
    for key, value in detail.items():
        if not isinstance(value, _ALLOWED_DETAIL_TYPES):
            raise TypeError(f"audit detail {key!r} must be a plain value")
    actor_id = (
        getattr(actor, "pk", None)
        if actor is not None and getattr(actor, "is_authenticated", False)
        else None
    )
    return AuditEntry.objects.create(
        at=timezone.now(),
        actor_id=actor_id,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        detail=detail,
    )
