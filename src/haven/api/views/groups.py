"""Groups: move chosen members together, all or none."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from haven.api import serializers as s
from haven.api.views.base import HavenApi, actor, ctx, require_case_reader, validated, versioned
from haven.cases.models import Case
from haven.cases.selectors import case_list, group_get
from haven.cases.services import group_advance


class GroupTransitionApi(HavenApi):
    """Move the chosen members of a group together: all of them, or none."""

    InputSerializer = s.GroupTransitionInputSerializer
    OutputSerializer = s.GroupTransitionOutputSerializer

    @extend_schema(
        tags=["groups"],
        summary="Move group members together",
        description="If any chosen member cannot make the move, or (with `versions`) changed "
        "since you read it, nobody moves.",
        request=s.GroupTransitionInputSerializer,
        responses=versioned(s.GroupTransitionOutputSerializer, move=True),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        group = group_get(user=user, group_id=pk)
        data = validated(self.InputSerializer, request.data)
        ids = {str(case_id) for case_id in data.pop("case_ids")}
        visible = {
            str(c) for c in case_list(user=user, group_id=group.pk).values_list("pk", flat=True)
        }
        if not ids <= visible:
            # The same answer for a case that is elsewhere and one the user may not see.
            raise serializers.ValidationError(
                {"case_ids": ["Every chosen case must be a member of this group."]}
            )
        versions = data.pop("versions")
        if set(versions) != ids:
            raise serializers.ValidationError(
                {"versions": ["Give exactly one version for each chosen case."]}
            )
        group_advance(ctx=ctx(request), actor=user, group=group, case_versions=versions, **data)
        moved = Case.objects.filter(pk__in=ids).order_by("opened_at", "id")
        out = {
            "group": group.pk,
            "cases": [{"id": c.pk, "state": c.state, "version": c.version} for c in moved],
        }
        return Response(self.OutputSerializer(out).data)
