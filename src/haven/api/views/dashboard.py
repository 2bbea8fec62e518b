"""The dashboard: counts by state, urgent and overdue cases, new requests, requests per year."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from haven.api import serializers as s
from haven.api.views.base import HavenApi, actor, ctx, require_case_reader, responses
from haven.api.views.cases import case_item
from haven.cases.selectors import case_rows, dashboard


class DashboardApi(HavenApi):
    """What a supervisor watches; names of the urgent and overdue cases are decrypted (audited)."""

    OutputSerializer = s.DashboardOutputSerializer

    @extend_schema(
        tags=["dashboard"],
        summary="Dashboard",
        responses=responses(s.DashboardOutputSerializer, write=False),
    )
    def get(self, request: Request) -> Response:
        user = actor(request)
        require_case_reader(user)
        board = dashboard(user=user)
        rows = case_rows(ctx=ctx(request), user=user, cases=[*board.urgent, *board.overdue])
        items = [case_item(r.case, r.name, r.name_romanized) for r in rows]
        urgent, overdue = items[: len(board.urgent)], items[len(board.urgent) :]
        out = {
            "by_state": board.by_state,
            "active": board.active,
            "overdue_count": board.overdue_count,
            "new_requests": board.new_requests,
            "urgent": urgent,
            "overdue": overdue,
            "requests_by_year": [{"year": y, "count": n} for y, n in board.requests_by_year],
        }
        return Response(self.OutputSerializer(out).data)
