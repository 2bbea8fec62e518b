"""`haven demo`: every role, every journey state, groups, both channels, three years; --if-empty."""

from __future__ import annotations

import random
import stat
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from haven.accounts.models import Role, User
from haven.brokers.models import Broker, BrokerStatus
from haven.cases.journey import TRANSITIONS, State
from haven.cases.models import Case, Channel, JourneyEvent, Request, RequestStatus
from haven.cases.selectors import dashboard
from haven.cli import main
from haven.demo.services import plan_units
from haven.referrals.models import Referral, ReferralStatus
from haven.vault.sealed import payload_read
from tests.factories import ctx_for

pytestmark = pytest.mark.django_db

CASES = 40


@pytest.fixture
def demo(capsys):
    assert main(["demo", "--cases", str(CASES), "--seed", "7"]) == 0
    return capsys.readouterr().out


def test_demo_creates_every_role_with_the_printed_password(demo):
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == set(Role.values)
    password = next(
        line.split(": ", 1)[1] for line in demo.splitlines() if "password:" in line
    ).strip()
    for username in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"):
        assert username in demo
        assert User.objects.get(username=username).check_password(password)
    assert User.objects.get(username="frank").partner.name == "Ministry of Unification"
    assert User.objects.get(username="bob").team != User.objects.get(username="carol").team

    logins = Path(settings.DATA_DIR) / "demo-logins.txt"
    assert password in logins.read_text(encoding="utf-8")
    assert stat.S_IMODE(logins.stat().st_mode) == 0o600


def test_demo_covers_every_journey_state_with_valid_histories(demo):
    assert Case.objects.count() == CASES
    assert set(Case.objects.values_list("state", flat=True)) == set(State.values)
    for case in Case.objects.all():
        events = list(case.events.order_by("occurred_at", "recorded_at"))
        assert events[0].from_state == "" and events[0].to_state == State.RECEIVED
        for before, after in zip(events, events[1:], strict=False):
            assert after.from_state == before.to_state
            assert after.occurred_at >= before.occurred_at
            allowed = TRANSITIONS[State(before.to_state)] | (
                {State(events[events.index(before) - 1].to_state)}
                if before.to_state == State.LOST_CONTACT
                else set()
            )
            assert State(after.to_state) in allowed
        assert events[-1].to_state == case.state


def test_demo_has_groups_channels_years_brokers_and_referrals(demo):
    sizes = {
        g: Case.objects.filter(group_id=g).count()
        for g in Case.objects.exclude(group=None).values_list("group", flat=True).distinct()
    }
    assert len(sizes) >= 3
    assert 13 in sizes.values() and 3 in sizes.values()
    channels = set(Request.objects.values_list("channel", flat=True))
    assert {Channel.DIRECT_LINE, Channel.BROKER} <= channels
    years = {r.year for r in Request.objects.values_list("received_at", flat=True)}
    assert len(years) >= 3
    assert Broker.objects.count() >= 10
    assert Broker.objects.filter(status=BrokerStatus.SUSPENDED).count() == 1
    assert set(Referral.objects.values_list("status", flat=True)) >= set(ReferralStatus.values)
    assert Request.objects.filter(status=RequestStatus.NEW).exists()
    countries = set(JourneyEvent.objects.values_list("country", flat=True))
    assert {"CN", "TH", "KR"} <= countries and countries & {"LA", "VN"}

    board = dashboard(user=User.objects.get(username="alice"))
    assert board.overdue_count > 0


def _password(demo: str) -> str:
    return next(line.split(": ", 1)[1] for line in demo.splitlines() if "password:" in line).strip()


def test_demo_people_have_korean_and_romanized_names(demo):
    # Alice is a supervisor: the demo shares the supervisors' key with her, which opens every case.
    ctx = ctx_for(User.objects.get(username="alice"), _password(demo))
    people = [
        payload_read(ctx=ctx, record=c.person)
        for c in Case.objects.select_related("person__data_key")
    ]
    hangul = [p["name_hangul"] for p in people if p["name_hangul"]]
    assert len(hangul) > CASES * 0.8
    assert all("\uac00" <= ch <= "\ud7a3" for name in hangul for ch in name)
    romanized = " ".join(p["name_romanized"] for p in people)
    assert any(s in romanized for s in ("Ri ", "Rim ", "Ryu ", "Ro ", "Ryang "))


def test_demo_if_empty_leaves_a_populated_database_alone(demo, capsys):
    counts = (User.objects.count(), Case.objects.count(), JourneyEvent.objects.count())

    assert main(["demo", "--if-empty", "--cases", str(CASES), "--no-migrate"]) == 0
    assert "left as it is" in capsys.readouterr().out
    assert (User.objects.count(), Case.objects.count(), JourneyEvent.objects.count()) == counts

    assert main(["demo", "--cases", str(CASES), "--no-migrate"]) == 1
    assert "already has users" in capsys.readouterr().err
    assert (User.objects.count(), Case.objects.count(), JourneyEvent.objects.count()) == counts


def test_demo_refuses_too_few_cases(capsys):
    assert main(["demo", "--cases", "5", "--no-migrate"]) == 2
    assert "between" in capsys.readouterr().err
    assert not User.objects.exists()


def test_same_seed_gives_the_same_people():
    now = timezone.now()
    first = plan_units(cases=60, rng=random.Random(3), now=now)
    second = plan_units(cases=60, rng=random.Random(3), now=now)
    assert [(u.size, u.target, u.received_at, u.people) for u in first] == [
        (u.size, u.target, u.received_at, u.people) for u in second
    ]


def test_demo_prints_recovery_words_that_open_every_case(demo):
    from haven.crypto import recovery_key_from_words
    from haven.vault.models import DataKey, OrgKeys

    lines = demo.splitlines()
    start = next(i for i, line in enumerate(lines) if "recovery words" in line)
    words = " ".join(lines[start + 2 : start + 4])
    recovery = recovery_key_from_words(words)
    assert recovery.public_key == bytes(OrgKeys.objects.get().recovery_public_key)
    for key in DataKey.objects.all()[:20]:
        assert len(recovery.open_sealed(bytes(key.recovery_sealed))) == 32


def test_demo_administrator_holds_no_case_key(demo):
    from haven.crypto import MissingKeyError

    erin = User.objects.get(username="erin")
    ctx = ctx_for(erin, _password(demo))
    case = Case.objects.select_related("data_key").first()
    with pytest.raises(MissingKeyError):
        payload_read(ctx=ctx, record=case)
