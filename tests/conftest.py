"""Named users for access tests and a key context per test."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

from haven.accounts.models import Role, User
from haven.crypto import KeyContext, key_context_for
from tests.factories import PartnerFactory, TeamFactory, UserFactory

# CI explores the same examples on every run, so that a red build is reproducible; a developer's
# run keeps exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture
def team_a(db):
    return TeamFactory(name="Team A")


@pytest.fixture
def team_b(db):
    return TeamFactory(name="Team B")


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Ministry of Unification", country="KR")


@pytest.fixture
def alice(db, team_a) -> User:
    """Supervisor."""
    return UserFactory(username="alice", role=Role.SUPERVISOR, team=team_a)


@pytest.fixture
def bob(db, team_a) -> User:
    """Caseworker in team A."""
    return UserFactory(username="bob", role=Role.CASEWORKER, team=team_a)


@pytest.fixture
def carol(db, team_b) -> User:
    """Caseworker in team B."""
    return UserFactory(username="carol", role=Role.CASEWORKER, team=team_b)


@pytest.fixture
def dave(db) -> User:
    """Intake officer."""
    return UserFactory(username="dave", role=Role.INTAKE)


@pytest.fixture
def erin(db) -> User:
    """Administrator: manages people, reads no cases."""
    return UserFactory(username="erin", role=Role.ADMIN)


@pytest.fixture
def frank(db, partner) -> User:
    """Partner liaison at the ministry."""
    return UserFactory(username="frank", role=Role.PARTNER_LIAISON, partner=partner)


@pytest.fixture
def grace(db) -> User:
    """Auditor."""
    return UserFactory(username="grace", role=Role.AUDITOR)


@pytest.fixture
def heidi(db) -> User:
    """Press officer."""
    return UserFactory(username="heidi", role=Role.PRESS)


@pytest.fixture
def ctx(alice) -> KeyContext:
    return key_context_for(alice.pk)
