"""Possible duplicates: those of a request's people (for triage), and deciding about a pair."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request as ApiRequest
from rest_framework.response import Response

from haven import access
from haven.api.serializers import StrictSerializer
from haven.api.views.base import (
    HavenApi,
    actor,
    ctx,
    lookup,
    require_case_reader,
    responses,
    validated,
)
from haven.cases.selectors import case_get, case_queryset, request_get
from haven.dedupe.models import DecisionKind
from haven.dedupe.selectors import DuplicateView, request_duplicates
from haven.dedupe.services import duplicate_decide

TAGS = ["duplicates"]


class EvidenceSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The compared field (name, birth, sex, ...).")
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="How well it agreed (e.g. “the same name”)."
    )
    weight = serializers.FloatField(help_text="Its weight in bits: positive for, negative against.")


class DuplicateSerializer(serializers.Serializer):
    case = serializers.UUIDField(help_text="The request's case.")
    other = serializers.UUIDField(help_text="A case you can open that may be the same person.")
    case_name = serializers.CharField()
    other_name = serializers.CharField()
    probability = serializers.FloatField()
    strength = serializers.CharField()
    evidence = EvidenceSerializer(many=True)
    guard = serializers.CharField(allow_null=True)


class DuplicateListSerializer(serializers.Serializer):
    results = DuplicateSerializer(many=True)


class DecideInputSerializer(StrictSerializer):
    other = serializers.UUIDField(help_text="The other case of the pair.")
    kind = serializers.ChoiceField(choices=DecisionKind.values)
    survivor = serializers.ChoiceField(
        choices=["this", "other"],
        required=False,
        help_text="For a merge: which case is kept (this one, in the URL, or the other).",
    )


class DecisionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    case_a = serializers.UUIDField(source="case_a_id")
    case_b = serializers.UUIDField(source="case_b_id")
    survivor = serializers.UUIDField(source="survivor_id", allow_null=True)
    decided_at = serializers.DateTimeField()


def _out(v: DuplicateView) -> dict[str, Any]:
    return {
        "case": v.case.pk,
        "other": v.other.pk,
        "case_name": v.case_name,
        "other_name": v.other_name,
        "probability": v.probability,
        "strength": v.strength,
        "evidence": v.evidence,
        "guard": v.guard,
    }


class DuplicateListApi(HavenApi):
    """Possible duplicates of a request's people among the cases you can open, with reasons."""

    @extend_schema(
        tags=TAGS,
        summary="Possible duplicates of a request's people",
        description="Compared on keyed encodings only; pairs someone decided about are left "
        "out. Each reason names a field, how well it agreed and its weight in bits.",
        responses=responses(DuplicateListSerializer, read=True, write=False),
    )
    def get(self, request: ApiRequest, pk: UUID) -> Response:
        user = actor(request)
        record = request_get(user=user, request_id=pk)
        if not access.allowed(user, "duplicate.read"):
            raise PermissionDenied("Your role cannot see possible duplicates.")
        found = request_duplicates(ctx=ctx(request), user=user, request=record)
        return Response(DuplicateListSerializer({"results": [_out(v) for v in found]}).data)


class DuplicateDecideApi(HavenApi):
    """Decide about a pair: link, merge (undoable) or not the same person. Remembered, audited."""

    @extend_schema(
        tags=TAGS,
        summary="Decide about a possible duplicate",
        request=DecideInputSerializer,
        responses=responses(DecisionSerializer, status=201, read=True),
    )
    def post(self, request: ApiRequest, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        case = case_get(user=user, case_id=pk)
        if not access.allowed(user, "duplicate.decide"):
            raise PermissionDenied("Your role cannot decide about duplicates.")
        data = validated(DecideInputSerializer, request.data)
        other = lookup(case_queryset(user=user), data["other"], field="other", label="case")
        survivor = {"this": case, "other": other}.get(data.get("survivor", ""))
        decision = duplicate_decide(
            ctx=ctx(request),
            actor=user,
            case=case,
            other=other,
            kind=data["kind"],
            survivor=survivor,
        )
        return Response(DecisionSerializer(decision).data, status=201)
