"""Record ids in the audit trail are pseudonyms, so that destroying a record leaves no trace.

Staff accounts, teams and partners keep their plain ids (they are not the people we protect, and
staff accounts are never deleted). Every id of a record with sealed content — a case, a person,
a request, a broker, a referral... — and every UUID in an entry's detail is replaced by a keyed
pseudonym (:func:`haven.crypto.audit_pseudonym`). Auditors search by the real id: the viewer
computes its pseudonym.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from haven.crypto import audit_pseudonym
from haven.vault.models import SealedRecord


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def audit_id(value: Any) -> str:
    """The id as the trail stores it: a pseudonym for a UUID, the value itself otherwise."""
    text = str(value)
    return audit_pseudonym(str(uuid.UUID(text))) if _is_uuid(text) else text


def audit_target_id(target: models.Model) -> str:
    if isinstance(target, SealedRecord) or _is_uuid(str(target.pk)):
        return audit_id(target.pk)
    return str(target.pk)


def pseudonymise_detail(detail: dict[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, str) and _is_uuid(value):
            return audit_id(value)
        if isinstance(value, list):
            return [convert(item) for item in value]
        return value

    return {key: convert(value) for key, value in detail.items()}
