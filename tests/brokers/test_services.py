from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from haven.brokers.models import Broker
from haven.brokers.selectors import broker_get, broker_record
from haven.brokers.services import broker_create, broker_set_status, broker_update
from haven.cases.journey import State
from haven.cases.models import Case, RequestStatus
from haven.cases.services import journey_advance, request_triage
from haven.errors import ConflictError
from tests.factories import ctx_for, make_broker, make_request


@pytest.mark.django_db
def test_broker_details_are_encrypted_and_readable_by_staff(ctx, alice, bob):
    broker = broker_create(
        ctx=ctx, actor=alice, alias="Mr Jang of Yanji", contact="+86 155 0000 0000"
    )

    assert b"Jang" not in bytes(broker.payload)
    _, details, _ = broker_get(ctx=ctx_for(bob), user=bob, broker_id=broker.pk)
    assert details["alias"] == "Mr Jang of Yanji"


@pytest.mark.django_db
def test_broker_record_is_derived_from_the_requests_they_brought(ctx, alice):
    broker = make_broker(ctx=ctx, actor=alice)
    kept = make_request(ctx=ctx, actor=alice, channel="broker", broker=broker, people=2)
    declined = make_request(ctx=ctx, actor=alice, channel="broker", broker=broker)
    request_triage(
        ctx=ctx,
        actor=alice,
        request=declined,
        expected_version=declined.version,
        status=RequestStatus.DECLINED,
    )
    case = Case.objects.filter(request=kept).first()
    for target in (
        State.VERIFYING,
        State.ACCEPTED,
        State.REFERRED,
        State.LEFT_WORKPLACE,
        State.IN_THIRD_COUNTRY,
        State.ARRIVED,
    ):
        journey_advance(
            ctx=ctx, actor=alice, case=case, to_state=target, expected_version=case.version
        )

    record = broker_record(broker=broker)

    assert (
        record.requests,
        record.people,
        record.declined,
        record.arrived,
        record.in_progress,
    ) == (2, 3, 1, 1, 1)


@pytest.mark.django_db
def test_only_supervisors_suspend_brokers(ctx, alice, bob):
    broker = make_broker(ctx=ctx, actor=alice)
    with pytest.raises(PermissionDenied):
        broker_set_status(
            ctx=ctx_for(bob),
            actor=bob,
            broker=broker,
            expected_version=broker.version,
            status="suspended",
        )
    assert Broker.objects.get(pk=broker.pk).status == "active"


@pytest.mark.django_db
def test_broker_update_needs_an_alias_and_the_current_version(ctx, alice):
    broker = make_broker(ctx=ctx, actor=alice)
    with pytest.raises(ValidationError):
        broker_update(
            ctx=ctx, actor=alice, broker=broker, expected_version=broker.version, alias=""
        )
    broker_update(
        ctx=ctx, actor=alice, broker=broker, expected_version=broker.version, alias="Renamed"
    )
    with pytest.raises(ConflictError):
        broker_update(ctx=ctx, actor=alice, broker=broker, expected_version=1, alias="Stale")


@pytest.mark.django_db
def test_administrators_and_press_cannot_see_brokers(erin, heidi):
    from haven.brokers.selectors import broker_list

    for user in (erin, heidi):
        with pytest.raises(PermissionDenied):
            broker_list(user=user)
