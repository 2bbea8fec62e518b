from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.brokers.models import Broker, BrokerStatus
from haven.cases.journey import SAFE, State
from haven.cases.models import Case, Request, RequestStatus
from haven.crypto import KeyContext
from haven.vault.sealed import data_keys_unlock, payload_read

BAD_OUTCOMES = (State.DETAINED, State.REPATRIATED, State.DECEASED)


@dataclass
class BrokerRecord:
    """A broker's track record, derived from the requests they brought."""

    requests: int
    people: int
    declined: int
    duplicates: int
    arrived: int
    bad_outcomes: int
    in_progress: int


def broker_list(*, user: User, with_counts: bool = False) -> QuerySet[Broker]:
    """Brokers ``user`` may see; ``with_counts`` adds ``request_count`` (a join over requests)."""
    if not access.has_role(user, access.BROKER_READERS):
        raise PermissionDenied("Your role cannot see brokers.")
    qs = Broker.objects.select_related("data_key")
    return qs.annotate(request_count=Count("requests")) if with_counts else qs


def broker_details(*, ctx: KeyContext, broker: Broker) -> dict[str, Any]:
    return payload_read(ctx=ctx, record=broker)


def broker_record(*, broker: Broker) -> BrokerRecord:
    reqs = Request.objects.filter(broker=broker).aggregate(
        n=Count("id", distinct=True),
        people=Count("cases"),
        declined=Count("id", filter=Q(status=RequestStatus.DECLINED), distinct=True),
        duplicates=Count("id", filter=Q(status=RequestStatus.DUPLICATE), distinct=True),
    )
    cases = Case.objects.filter(request__broker=broker).aggregate(
        arrived=Count("id", filter=Q(state__in=SAFE)),
        bad=Count("id", filter=Q(state__in=BAD_OUTCOMES)),
        open=Count(
            "id",
            filter=~Q(
                state__in=[*SAFE, *BAD_OUTCOMES, State.DECLINED, State.DUPLICATE, State.WITHDRAWN]
            ),
        ),
    )
    return BrokerRecord(
        requests=reqs["n"] or 0,
        people=reqs["people"] or 0,
        declined=reqs["declined"] or 0,
        duplicates=reqs["duplicates"] or 0,
        arrived=cases["arrived"] or 0,
        bad_outcomes=cases["bad"] or 0,
        in_progress=cases["open"] or 0,
    )


def broker_get(
    *, ctx: KeyContext, user: User, broker_id: Any
) -> tuple[Broker, dict[str, Any], BrokerRecord]:
    """One broker with decrypted details and their record; the read is audited."""
    try:
        broker = broker_list(user=user).get(pk=broker_id)
    except (Broker.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such broker.") from exc
    details = broker_details(ctx=ctx, broker=broker)
    audit_record(actor=user, action="broker.view", target=broker)
    return broker, details, broker_record(broker=broker)


@dataclass
class BrokerRow:
    """A broker with the few decrypted details a list or a picker shows."""

    broker: Broker
    alias: str
    region: str


def broker_rows(
    *, ctx: KeyContext, user: User, active_only: bool = False, with_counts: bool = False
) -> list[BrokerRow]:
    """Every broker ``user`` may see with alias and region decrypted; audited as one list read."""
    qs = broker_list(user=user, with_counts=with_counts).order_by("created_at")
    if active_only:
        qs = qs.filter(status=BrokerStatus.ACTIVE)
    brokers = list(qs)
    data_keys_unlock(ctx=ctx, key_ids=[broker.data_key_id for broker in brokers])
    rows = []
    for broker in brokers:
        details = broker_details(ctx=ctx, broker=broker)
        rows.append(
            BrokerRow(
                broker=broker, alias=details.get("alias", ""), region=details.get("region", "")
            )
        )
    if rows:
        audit_record(
            actor=user, action="broker.list", detail={"brokers": [str(r.broker.pk) for r in rows]}
        )
    return rows


def broker_page_rows(*, ctx: KeyContext, user: User, brokers: list[Broker]) -> list[BrokerRow]:
    """Alias and region decrypted for one page of brokers only; audited as one list read."""
    data_keys_unlock(ctx=ctx, key_ids=[broker.data_key_id for broker in brokers])
    rows = []
    for broker in brokers:
        details = broker_details(ctx=ctx, broker=broker)
        rows.append(
            BrokerRow(
                broker=broker, alias=details.get("alias", ""), region=details.get("region", "")
            )
        )
    if rows:
        audit_record(
            actor=user, action="broker.list", detail={"brokers": [str(r.broker.pk) for r in rows]}
        )
    return rows
