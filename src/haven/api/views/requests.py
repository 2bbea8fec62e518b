"""Requests: the intake inbox, recording a request (one person or a group), triage."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request as ApiRequest
from rest_framework.response import Response

from haven import access
from haven.accounts.models import User
from haven.api import serializers as s
from haven.api.views.base import (
    HavenApi,
    actor,
    ctx,
    lookup,
    page,
    query,
    responses,
    validated,
    versioned,
)
from haven.brokers.selectors import broker_list
from haven.cases.models import Request
from haven.cases.selectors import CaseRow, request_detail, request_get, request_list
from haven.cases.services import PersonInput, request_create, request_triage
from haven.portal.queue import portal_queue_open_before_answer

TAGS = ["requests"]


def detail_out(request: Request, data: dict[str, Any], rows: list[CaseRow]) -> dict[str, Any]:
    out = s.RequestOutputSerializer(request).data
    return {
        **out,
        "account": data.get("account", ""),
        "contact": data.get("contact", ""),
        "cases": [
            {"id": r.case.pk, "name": r.name, "state": r.case.state, "version": r.case.version}
            for r in rows
        ],
    }


class RequestListApi(HavenApi):
    """List the requests you may see, or record a new one."""

    FilterSerializer = s.RequestFilterSerializer
    InputSerializer = s.RequestCreateInputSerializer
    OutputSerializer = s.RequestOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="List requests",
        operation_id="requests_list",
        description="Newest and most urgent first. Nothing sensitive is decrypted.",
        parameters=[s.RequestFilterSerializer],
        responses=responses(s.RequestPageSerializer, write=False, query=True),
    )
    def get(self, request: ApiRequest) -> Response:
        filters = query(self.FilterSerializer, request)
        user = actor(request)
        if access.allowed(user, "request.triage"):
            # Requests the portal queued in a surge (haven.portal.queue): the oldest each call
            # while few wait, as the inbox page opens them.
            portal_queue_open_before_answer(ctx=ctx(request), actor=user)
        qs = request_list(user=user, status=filters.get("status"))
        return page(request, self, qs, lambda chunk: chunk, self.OutputSerializer)

    @extend_schema(
        tags=TAGS,
        summary="Record a request",
        description="Opens one case per person; several people also form a group. "
        "Everything is stored, or nothing.",
        request=s.RequestCreateInputSerializer,
        responses=responses(s.RequestCreatedOutputSerializer, status=201),
    )
    def post(self, request: ApiRequest) -> Response:
        data = validated(self.InputSerializer, request.data)
        user = actor(request)
        broker = (
            lookup(broker_list(user=user), data["broker"], field="broker", label="broker")
            if data.get("broker")
            else None
        )
        owner = (
            lookup(User.objects.filter(is_active=True), data["owner"], field="owner", label="user")
            if data.get("owner")
            else None
        )
        created = request_create(
            ctx=ctx(request),
            actor=user,
            channel=data["channel"],
            urgency=data["urgency"],
            account=data["account"],
            contact=data.get("contact", ""),
            country=data.get("country", ""),
            received_at=data.get("received_at"),
            broker=broker,
            group_label=data.get("group_label", ""),
            owner=owner,
            people=[PersonInput(**person) for person in data["people"]],
        )
        out = {
            **self.OutputSerializer(created).data,
            "cases": [
                {"id": c.pk, "state": c.state, "version": c.version}
                for c in created.cases.order_by("opened_at", "id")
            ],
        }
        return Response(out, status=201)


class RequestDetailApi(HavenApi):
    """One request with its account decrypted (the read is audited)."""

    @extend_schema(
        tags=TAGS,
        summary="Read a request",
        responses=responses(s.RequestDetailOutputSerializer, read=True, write=False),
    )
    def get(self, request: ApiRequest, pk: UUID) -> Response:
        found, payload, rows = request_detail(ctx=ctx(request), user=actor(request), request_id=pk)
        return Response(detail_out(found, payload, rows))


class RequestTriageApi(HavenApi):
    """Triage a new request: keep it, decline it, or mark it a duplicate."""

    InputSerializer = s.RequestTriageInputSerializer

    @extend_schema(
        tags=TAGS,
        summary="Triage a request",
        description="Declining or marking a duplicate also moves the cases it opened that are "
        "still being verified.",
        request=s.RequestTriageInputSerializer,
        responses=versioned(s.RequestDetailOutputSerializer, move=True),
    )
    def post(self, request: ApiRequest, pk: UUID) -> Response:
        user = actor(request)
        record = request_get(user=user, request_id=pk)
        data = validated(self.InputSerializer, request.data)
        duplicate_of = (
            lookup(
                request_list(user=user), data["duplicate_of"], field="duplicate_of", label="request"
            )
            if data.get("duplicate_of")
            else None
        )
        request_triage(
            ctx=ctx(request),
            actor=user,
            request=record,
            expected_version=data["version"],
            status=data["status"],
            urgency=data.get("urgency"),
            duplicate_of=duplicate_of,
        )
        found, payload, rows = request_detail(ctx=ctx(request), user=user, request_id=pk)
        return Response(detail_out(found, payload, rows))
