"""Named users for access tests and a key context per test."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

from haven.accounts.models import Role, User
from haven.crypto import KeyContext
from haven.vault.services import OrgSetup, org_keys_setup, team_key_create, team_keys_share_pending
from tests.factories import PartnerFactory, TeamFactory, UserFactory, ctx_for

# `make test` (and CI) explores the same examples on every run, so that a red build is
# reproducible wherever it runs; HAVEN_HYPOTHESIS_EXPLORE=1 explores new ones (a developer hunting
# for cases, e.g. the known 선우민민 reading past the eight-reading cap, docs/linkage.md).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if not os.environ.get("HAVEN_HYPOTHESIS_EXPLORE"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Remembered counts (haven.cases.counts) are keyed by a version that a rolled-back test
    database repeats: each test starts with an empty cache."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _keys_read_afresh() -> None:
    """The recovery public key and the receipt salt are read once per process (they never
    change in one database); each test's database has its own."""
    from haven.cases.tallies import tallies_forget
    from haven.portal.receipts import receipt_salt_forget
    from haven.vault.sealed import recovery_public_key_forget

    recovery_public_key_forget()
    receipt_salt_forget()
    tallies_forget()


@pytest.fixture
def org(db) -> OrgSetup:
    """The organisation's keys, and an operator context holding every team key (like `haven
    setup` and the demo have), used to share team keys with the named users."""
    return org_keys_setup()


def _equip(org: OrgSetup, user: User) -> User:
    """Give ``user`` the team keys their role and team call for, as a supervisor would."""
    team_keys_share_pending(ctx=org.ctx, actor=None)
    return user


@pytest.fixture
def team_a(org):
    team = TeamFactory(name="Team A")
    team_key_create(ctx=org.ctx, actor=None, team=team)
    return team


@pytest.fixture
def team_b(org):
    team = TeamFactory(name="Team B")
    team_key_create(ctx=org.ctx, actor=None, team=team)
    return team


@pytest.fixture
def partner(org):
    partner = PartnerFactory(name="Ministry of Unification", country="KR")
    team_key_create(ctx=org.ctx, actor=None, partner=partner)
    return partner


@pytest.fixture
def alice(org, team_a) -> User:
    """Supervisor."""
    return _equip(org, UserFactory(username="alice", role=Role.SUPERVISOR, team=team_a))


@pytest.fixture
def bob(org, team_a) -> User:
    """Caseworker in team A."""
    return _equip(org, UserFactory(username="bob", role=Role.CASEWORKER, team=team_a))


@pytest.fixture
def carol(org, team_b) -> User:
    """Caseworker in team B."""
    return _equip(org, UserFactory(username="carol", role=Role.CASEWORKER, team=team_b))


@pytest.fixture
def dave(org) -> User:
    """Intake officer."""
    return _equip(org, UserFactory(username="dave", role=Role.INTAKE))


@pytest.fixture
def erin(org) -> User:
    """Administrator: manages people, reads no cases."""
    return _equip(org, UserFactory(username="erin", role=Role.ADMIN))


@pytest.fixture
def frank(org, partner) -> User:
    """Partner liaison at the ministry."""
    return _equip(org, UserFactory(username="frank", role=Role.PARTNER_LIAISON, partner=partner))


@pytest.fixture
def grace(org) -> User:
    """Auditor."""
    return _equip(org, UserFactory(username="grace", role=Role.AUDITOR))


@pytest.fixture
def heidi(org) -> User:
    """Press officer."""
    return _equip(org, UserFactory(username="heidi", role=Role.PRESS))


@pytest.fixture
def ctx(alice) -> KeyContext:
    """Alice's keys (a supervisor: she holds the intake, supervisors and team keys)."""
    return ctx_for(alice)
