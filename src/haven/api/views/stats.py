"""Statistics: the figures (press officers and supervisors), releases (prepare, approve, set aside,
export) and supervisors' view of where cases stand now. Kept-back figures are ``null``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils import timezone, translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from haven.api.serializers import StrictSerializer
from haven.api.views.base import HavenApi, actor, ctx, query, responses, validated, versioned
from haven.stats import selectors, services
from haven.stats.exports import FORMATS, LANGUAGES
from haven.stats.models import Release
from haven.stats.tables import GRAINS, TOTAL, Table

TAGS = ["statistics"]


class StatisticsQuerySerializer(serializers.Serializer):
    start = serializers.CharField(
        required=False, help_text="First month, YYYY-MM (January of last year if left out)."
    )
    end = serializers.CharField(
        required=False, help_text="Last month, YYYY-MM: a closed month (the last if left out)."
    )
    grain = serializers.ChoiceField(choices=list(GRAINS), default="year")
    channel = serializers.CharField(required=False, help_text="Codes, comma-separated.")
    occupation = serializers.CharField(required=False)
    origin = serializers.CharField(required=False)
    sex = serializers.CharField(required=False)
    age = serializers.CharField(required=False)
    lang = serializers.ChoiceField(choices=list(LANGUAGES), default="en")


class FigureSerializer(serializers.Serializer):
    row = serializers.CharField()
    column = serializers.CharField(allow_blank=True)
    value = serializers.IntegerField(allow_null=True, help_text="null: kept back.")
    status = serializers.CharField()
    interval = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="For a kept-back figure: the tightest range an attacker can derive.",
    )


class TableSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    rows = serializers.ListField(child=serializers.CharField())
    row_labels = serializers.ListField(child=serializers.CharField())
    columns = serializers.ListField(child=serializers.CharField())
    figures = FigureSerializer(many=True)


class ArrivalSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    shown = serializers.BooleanField()
    q1_weeks = serializers.IntegerField(required=False)
    median_weeks = serializers.IntegerField(required=False)
    q3_weeks = serializers.IntegerField(required=False)


class StatisticsSerializer(serializers.Serializer):
    start = serializers.CharField()
    end = serializers.CharField()
    grain = serializers.CharField()
    k = serializers.IntegerField()
    counted = serializers.IntegerField()
    frozen_months = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    tables = TableSerializer(many=True)
    arrival = ArrivalSerializer()


class ReleaseInputSerializer(StrictSerializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    start = serializers.CharField(max_length=7)
    end = serializers.CharField(max_length=7)
    grain = serializers.ChoiceField(choices=list(GRAINS))
    tables = serializers.ListField(
        child=serializers.CharField(max_length=60),
        max_length=40,
        help_text="measure:rows[:columns], e.g. people:period:channel.",
    )
    policy = serializers.ChoiceField(choices=["suppress", "round"], default="suppress")
    k = serializers.IntegerField(required=False)
    protection = serializers.IntegerField(required=False)
    zeros_disclosive = serializers.BooleanField(required=False)
    rounding_base = serializers.IntegerField(required=False)


class ReleaseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    start = serializers.CharField()
    end = serializers.CharField()
    grain = serializers.CharField()
    tables = serializers.ListField(child=serializers.CharField())
    policy = serializers.CharField()
    k = serializers.IntegerField()
    protection = serializers.IntegerField()
    figures = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    prepared_by = serializers.CharField(allow_null=True)
    prepared_at = serializers.DateTimeField()
    approved_by = serializers.CharField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()


class ReleaseDetailSerializer(ReleaseSerializer):
    title = serializers.CharField(allow_blank=True)
    table_figures = TableSerializer(many=True)
    arrival = ArrivalSerializer()


class VersionSerializer(StrictSerializer):
    version = serializers.IntegerField(min_value=1)


class JourneyNowSerializer(serializers.Serializer):
    by_state = serializers.DictField(child=serializers.IntegerField())
    on_the_move = serializers.ListField(child=serializers.DictField())


def _table(table: Table) -> dict[str, Any]:
    from haven.stats.charts import row_label

    return {
        "key": table.spec.key,
        "title": table.spec.title(),
        "rows": [*table.row_codes, TOTAL],
        "row_labels": [row_label(table, r) for r in [*table.row_codes, TOTAL]],
        "columns": [*table.col_codes, TOTAL] if table.spec.cols else [""],
        "figures": [
            {
                "row": f.row,
                "column": f.col,
                "value": f.shown,
                "status": f.status,
                "interval": list(f.interval) if f.interval and f.suppressed else None,
            }
            for f in table.figures.values()
        ],
    }


def _release(release: Release) -> dict[str, Any]:
    return {
        "id": release.pk,
        "status": release.status,
        "start": release.start,
        "end": release.end,
        "grain": release.grain,
        "tables": release.tables,
        "policy": release.policy,
        "k": release.k,
        "protection": release.protection,
        "figures": release.figures,
        "suppressed": release.suppressed,
        "prepared_by": release.prepared_by.username if release.prepared_by else None,
        "prepared_at": release.prepared_at,
        "approved_by": release.approved_by.username if release.approved_by else None,
        "published_at": release.published_at,
        "version": release.version,
    }


def _find(request: Request, pk: Any) -> Release:
    from django.http import Http404

    try:
        return selectors.release_get(user=actor(request), release_id=pk)
    except Http404 as exc:
        raise NotFound("No such release.") from exc


def _detail(request: Request, release: Release, language: str = "en") -> dict[str, Any]:
    with translation.override(language):
        view = selectors.release_view(ctx=ctx(request), user=actor(request), release=release)
        return {
            **_release(release),
            "title": view.title,
            "table_figures": [_table(t) for t in view.tables],
            "arrival": view.arrival,
        }


class StatisticsGetApi(HavenApi):
    """The statistics page's figures over closed months, protected and audited."""

    @extend_schema(
        tags=TAGS,
        summary="Read statistics",
        parameters=[StatisticsQuerySerializer],
        responses=responses(StatisticsSerializer, write=False, query=True),
    )
    def get(self, request: Request) -> Response:
        user = actor(request)
        params = query(StatisticsQuerySerializer, request)
        filters = selectors.clean_filters(
            {
                d: [v for v in params[d].split(",")]
                for d in selectors.FILTER_DIMENSIONS
                if params.get(d)
            }
        )
        policy = services.default_policy()
        first, last = selectors.default_range(timezone.localdate())
        params.setdefault("start", first)
        params.setdefault("end", last)
        with translation.override(params["lang"]):
            page = selectors.statistics_page(
                ctx=ctx(request),
                actor=user,
                start=params["start"],
                end=params["end"],
                grain=params["grain"],
                filters=filters,
                policy=policy,
                today=timezone.localdate(),
            )
            if page.loaded.stale:
                services.facts_snapshot_write(
                    ctx=ctx(request), actor=user, matrix=page.loaded.matrix
                )
            data = {
                "start": params["start"],
                "end": params["end"],
                "grain": params["grain"],
                "k": policy.k,
                "counted": len(page.loaded.matrix),
                "frozen_months": page.frozen_months,
                "error": page.error,
                "tables": [_table(t) for t in page.tables],
                "arrival": page.arrival,
            }
        return Response(StatisticsSerializer(data).data)


class StatisticsNowApi(HavenApi):
    """Supervisors only: cases by journey state now, and who is on their way, by country.
    Internal: never published."""

    @extend_schema(
        tags=TAGS,
        summary="Where cases stand now",
        responses=responses(JourneyNowSerializer, write=False),
    )
    def get(self, request: Request) -> Response:
        now = selectors.journey_now(user=actor(request))
        return Response(
            JourneyNowSerializer(
                {
                    "by_state": dict(now.by_state),
                    "on_the_move": [
                        {"state": s, "country": c, "cases": n} for s, c, n in now.on_the_move
                    ],
                }
            ).data
        )


class ReleaseListApi(HavenApi):
    """Releases (prepared and published); prepare one (computed, protected and audited)."""

    @extend_schema(
        tags=TAGS,
        summary="List statistics releases",
        responses=responses(ReleaseSerializer(many=True), write=False),
    )
    def get(self, request: Request) -> Response:
        releases = selectors.release_list(user=actor(request))
        return Response(ReleaseSerializer([_release(r) for r in releases], many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Prepare a statistics release",
        request=ReleaseInputSerializer,
        responses=responses(ReleaseDetailSerializer, status=201),
    )
    def post(self, request: Request) -> Response:
        from django.core.exceptions import PermissionDenied

        from haven import access

        user = actor(request)
        if not access.allowed(user, "stats.prepare"):
            raise PermissionDenied("Your role cannot prepare statistics.")
        data = validated(ReleaseInputSerializer, request.data)
        policy = services.policy_clean(
            method=data["policy"],
            k=data.get("k"),
            protection=data.get("protection"),
            zeros=data.get("zeros_disclosive"),
            base=data.get("rounding_base"),
        )
        ask = services.release_request_clean(
            start=data["start"],
            end=data["end"],
            grain=data["grain"],
            tables=data["tables"],
            policy=policy,
            title=data.get("title", ""),
        )
        release = services.release_prepare(ctx=ctx(request), actor=user, ask=ask)
        return Response(ReleaseDetailSerializer(_detail(request, release)).data, status=201)


class ReleaseDetailApi(HavenApi):
    @extend_schema(
        tags=TAGS,
        summary="Read a statistics release",
        parameters=[OpenApiParameter("lang", str, enum=list(LANGUAGES), required=False)],
        responses=responses(ReleaseDetailSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        release = _find(request, pk)
        language = request.query_params.get("lang", "en")
        if language not in LANGUAGES:
            raise ValidationError({"lang": f"One of {', '.join(LANGUAGES)}."})
        return Response(ReleaseDetailSerializer(_detail(request, release, language)).data)


class ReleaseApproveApi(HavenApi):
    """Publish a prepared release: a supervisor other than whoever prepared it."""

    @extend_schema(
        tags=TAGS,
        summary="Approve and publish a release",
        request=VersionSerializer,
        responses=versioned(ReleaseSerializer),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        from django.core.exceptions import PermissionDenied

        from haven import access

        release = _find(request, pk)  # unknown ids: 404 before the role's 403
        if not access.allowed(actor(request), "stats.approve"):
            raise PermissionDenied("Only supervisors approve a release.")
        data = validated(VersionSerializer, request.data)
        release = services.release_approve(
            ctx=ctx(request),
            actor=actor(request),
            release=release,
            expected_version=data["version"],
        )
        return Response(ReleaseSerializer(_release(release)).data)


class ReleaseDiscardApi(HavenApi):
    """Set aside a prepared release."""

    @extend_schema(
        tags=TAGS,
        summary="Set aside a prepared release",
        request=VersionSerializer,
        responses=versioned(ReleaseSerializer),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        from django.core.exceptions import PermissionDenied

        from haven import access

        release = _find(request, pk)
        if not access.allowed(actor(request), "stats.prepare"):
            raise PermissionDenied("Your role cannot prepare statistics.")
        data = validated(VersionSerializer, request.data)
        release = services.release_discard(
            ctx=ctx(request),
            actor=actor(request),
            release=release,
            expected_version=data["version"],
        )
        return Response(ReleaseSerializer(_release(release)).data)


class ReleaseExportApi(HavenApi):
    """A published release as CSV, XLSX, HXL-tagged CSV or SVG (audited)."""

    @extend_schema(
        tags=TAGS,
        summary="Export a published release",
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMATS), required=False),
            OpenApiParameter("lang", str, enum=list(LANGUAGES), required=False),
        ],
        responses={
            **responses(OpenApiTypes.BINARY, read=True, write=False, query=True),
            200: OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
        },
    )
    def get(self, request: Request, pk: UUID) -> HttpResponse:
        release = _find(request, pk)
        fmt = request.query_params.get("format", "csv")
        language = request.query_params.get("lang", "en")
        if language not in LANGUAGES:
            raise ValidationError({"lang": f"One of {', '.join(LANGUAGES)}."})
        content, name, content_type = selectors.release_export(
            ctx=ctx(request), user=actor(request), release=release, fmt=fmt, language=language
        )
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
