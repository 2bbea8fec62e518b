"""Brokers: list, register, read with their derived record, edit, suspend or reinstate."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from haven.api import serializers as s
from haven.api.views.base import HavenApi, actor, ctx, page, responses, validated, versioned
from haven.brokers.models import Broker
from haven.brokers.selectors import broker_get, broker_list, broker_page_rows
from haven.brokers.services import broker_create, broker_set_status, broker_update
from haven.crypto import KeyContext

TAGS = ["brokers"]


def _find(request: Request, pk: Any) -> Broker:
    try:
        return broker_list(user=actor(request)).get(pk=pk)
    except Broker.DoesNotExist as exc:
        raise NotFound("No such broker.") from exc


def _detail(request: Request, key_ctx: KeyContext, pk: Any) -> dict[str, Any]:
    try:
        broker, details, record = broker_get(ctx=key_ctx, user=actor(request), broker_id=pk)
    except Broker.DoesNotExist as exc:
        raise NotFound("No such broker.") from exc
    return {
        "id": broker.pk,
        "status": broker.status,
        "created_at": broker.created_at,
        "version": broker.version,
        **{k: details.get(k, "") for k in ("alias", "region", "contact", "fee_notes", "warnings")},
        "record": vars(record),
    }


class BrokerListApi(HavenApi):
    """Brokers with alias and region decrypted for the page (audited); register a broker."""

    InputSerializer = s.BrokerInputSerializer
    OutputSerializer = s.BrokerListItemOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="List brokers",
        operation_id="brokers_list",
        responses=responses(s.BrokerPageSerializer, write=False),
    )
    def get(self, request: Request) -> Response:
        user = actor(request)
        qs = broker_list(user=user, with_counts=True).order_by("created_at", "id")

        def render(chunk: list[Broker]) -> list[dict[str, Any]]:
            return [
                {
                    "id": r.broker.pk,
                    "alias": r.alias,
                    "region": r.region,
                    "status": r.broker.status,
                    "created_at": r.broker.created_at,
                    "request_count": getattr(r.broker, "request_count", 0),
                    "version": r.broker.version,
                }
                for r in broker_page_rows(ctx=ctx(request), user=user, brokers=chunk)
            ]

        return page(request, self, qs, render, self.OutputSerializer)

    @extend_schema(
        tags=TAGS,
        summary="Register a broker",
        request=s.BrokerInputSerializer,
        responses=responses(s.BrokerDetailOutputSerializer, status=201),
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        broker = broker_create(ctx=ctx(request), actor=actor(request), **data)
        return Response(
            s.BrokerDetailOutputSerializer(_detail(request, ctx(request), broker.pk)).data,
            status=201,
        )


class BrokerDetailApi(HavenApi):
    """One broker with details decrypted and their record (audited); replace their details."""

    InputSerializer = s.BrokerUpdateInputSerializer
    OutputSerializer = s.BrokerDetailOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="Read a broker",
        responses=responses(s.BrokerDetailOutputSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        return Response(self.OutputSerializer(_detail(request, ctx(request), pk)).data)

    @extend_schema(
        tags=TAGS,
        summary="Replace a broker's details",
        description="Every detail is replaced: fields left out are cleared.",
        request=s.BrokerUpdateInputSerializer,
        responses=versioned(s.BrokerDetailOutputSerializer),
    )
    def put(self, request: Request, pk: UUID) -> Response:
        broker = _find(request, pk)
        data = validated(self.InputSerializer, request.data)
        broker_update(
            ctx=ctx(request),
            actor=actor(request),
            broker=broker,
            expected_version=data.pop("version"),
            **data,
        )
        return Response(self.OutputSerializer(_detail(request, ctx(request), pk)).data)


class BrokerStatusApi(HavenApi):
    """Suspend a broker at once, or reinstate them (supervisors only)."""

    InputSerializer = s.BrokerStatusInputSerializer

    @extend_schema(
        tags=TAGS,
        summary="Suspend or reinstate a broker",
        request=s.BrokerStatusInputSerializer,
        responses=versioned(s.BrokerDetailOutputSerializer),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        broker = _find(request, pk)
        data = validated(self.InputSerializer, request.data)
        broker_set_status(
            ctx=ctx(request),
            actor=actor(request),
            broker=broker,
            expected_version=data["version"],
            status=data["status"],
        )
        return Response(s.BrokerDetailOutputSerializer(_detail(request, ctx(request), pk)).data)
