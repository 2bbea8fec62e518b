"""Shared helpers of the duplicate-detection tests."""

from __future__ import annotations

from typing import Any

from haven.accounts.models import User
from haven.cases.models import Case
from haven.cases.services import PersonInput, request_create
from haven.crypto import KeyContext


def person(**kwargs: Any) -> PersonInput:
    data: dict[str, Any] = {
        "sex": "male",
        "birth_value": "1971",
        "birth_precision": "year",
        "origin_region": "Sinuiju",
        "occupation": "official",
    }
    data.update(kwargs)
    return PersonInput(**data)


def record(
    *, ctx: KeyContext, actor: User, owner: User | None = None, **person_fields: Any
) -> Case:
    """One request for one person; its case."""
    request = request_create(
        ctx=ctx,
        actor=actor,
        channel="direct_line",
        account="Please help.",
        people=[person(**person_fields)],
        owner=owner,
    )
    return request.cases.get()


# The same man written in Hangul and in McCune-Reischauer (with the breve), as two requests
# would bring him.
HANGUL: dict[str, Any] = {"name_hangul": "장진성"}
MR: dict[str, Any] = {"name_romanized": "Chang Chin-sŏng"}
