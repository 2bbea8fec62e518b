"""API test helpers: an authenticated client per user and a snapshot of everything stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from haven.accounts.models import User
from haven.api.services import api_token_create
from haven.brokers.models import Broker
from haven.cases.models import Case, Group, JourneyEvent, Note, Person, Request
from haven.disclosure.models import Cover, LeakPrint, Opening, Statement
from haven.referrals.models import Consent, Partner, Referral
from haven.vault.models import DataKey
from tests.factories import PASSWORD

SEALED = (
    Request,
    Case,
    Person,
    Group,
    JourneyEvent,
    Note,
    Broker,
    Consent,
    Referral,
    Cover,
    LeakPrint,
    Opening,
    Statement,
)


def snapshot() -> dict[str, Any]:
    """Every stored record with its version and ciphertext: equal snapshots mean nothing changed."""
    state: dict[str, Any] = {
        model._meta.label: sorted(
            (str(pk), version, bytes(payload))
            for pk, version, payload in model.objects.values_list("pk", "version", "payload")
        )
        for model in SEALED
    }
    state["partners"] = sorted(
        (str(p.pk), p.version, p.name, p.country, p.active) for p in Partner.objects.all()
    )
    state["data_keys"] = DataKey.objects.count()
    return state


@pytest.fixture
def client_for(db) -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = APIClient()
        token = api_token_create(user=user, password=PASSWORD)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return make


def person(**overrides: Any) -> dict[str, Any]:
    """One person as the API takes it."""
    data: dict[str, Any] = {
        "name_hangul": "김선희",
        "name_romanized": "Kim Sun-hui",
        "aliases": ["Sunny"],
        "sex": "female",
        "birth_value": "1990",
        "birth_precision": "year",
        "origin_region": "Sinuiju",
        "occupation": "restaurant_worker",
    }
    data.update(overrides)
    return data


def request_body(**overrides: Any) -> dict[str, Any]:
    """A valid direct-line request for one person, as the API takes it."""
    data: dict[str, Any] = {
        "channel": "direct_line",
        "urgency": 3,
        "account": "I work at a restaurant in Ningbo and want to leave.",
        "contact": "signal: +00 0000",
        "country": "CN",
        "people": [person()],
    }
    data.update(overrides)
    return data
