"""Shared helpers for the web tests: form payloads and a snapshot of what is stored."""

from __future__ import annotations

from typing import Any

from haven.brokers.models import Broker
from haven.cases.models import Case, Group, JourneyEvent, Note, Person, Request
from haven.referrals.models import Consent, Partner, Referral

PERSON = {
    "name_hangul": "김선희",
    "name_romanized": "Kim Sun-hui",
    "aliases": "",
    "sex": "female",
    "birth_value": "1990",
    "birth_precision": "year",
    "origin_region": "Sinuiju",
    "occupation": "restaurant_worker",
    "own_words": "I chose to leave.",
}


def request_form(people: int = 1, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": "direct_line",
        "broker": "",
        "urgency": "2",
        "country": "CN",
        "received_at": "",
        "account": "We are restaurant workers and want to leave.",
        "contact": "",
        "group_label": "",
        "owner": "",
        "people_count": str(people),
        "save": "1",
    }
    for i in range(people):
        data.update({f"p{i}-{k}": v for k, v in PERSON.items()})
    data.update(overrides)
    return data


def transition_form(case: Case, **overrides: Any) -> dict[str, Any]:
    data = {
        "to_state": "verifying",
        "occurred_at": "",
        "country": "CN",
        "region": "Liaoning",
        "place": "",
        "source": "staff",
        "confidence": "confirmed",
        "note": "",
        "version": str(case.version),
    }
    data.update(overrides)
    return data


def snapshot() -> dict[str, Any]:
    """Row counts and every record version: equal snapshots mean nothing was stored or changed."""
    models = (Request, Case, Person, Group, JourneyEvent, Note, Broker, Partner, Consent, Referral)
    return {
        model.__name__: sorted(model.objects.values_list("pk", "version"))
        if hasattr(model, "version")
        else model.objects.count()
        for model in models
    }


def name_of(ctx: Any, case: Case) -> str:
    """The Hangul name the factory gave the case's person (factories cycle through names)."""
    from haven.vault.sealed import payload_read

    return str(payload_read(ctx=ctx, record=case.person)["name_hangul"])
