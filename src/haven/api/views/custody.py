"""Who holds a case, granting and revoking access, and deleting a case with its keys."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from haven.accounts.models import User
from haven.api import serializers_custody as s
from haven.api.views.base import (
    HavenApi,
    actor,
    ctx,
    require_case_reader,
    require_recent_auth,
    responses,
    validated,
    versioned,
)
from haven.cases.selectors import case_get
from haven.cases.services import case_delete, case_grant, case_revoke
from haven.vault.holders import access_holders
from haven.vault.models import Grant, TeamKey

TAGS = ["access"]


def _holder_item(grant: Grant) -> dict[str, Any]:
    return {
        "kind": "person" if grant.user_id else "team_key",
        "user": grant.user_id,
        "username": grant.user.username if grant.user else None,
        "team_key": grant.team_key_id,
        "team_key_kind": grant.team_key.kind if grant.team_key else None,
        "stale": grant.stale,
        "granted_by": grant.granted_by_id,
        "granted_at": grant.granted_at,
    }


def _colleague(pk: int) -> User:
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise ValidationError({"user": "No such active staff member."})
    return user


class CaseAccessListApi(HavenApi):
    """Who holds the case's key: people and team keys, with who granted it and when."""

    @extend_schema(
        tags=TAGS,
        summary="List who holds access",
        responses=responses(s.HolderSerializer(many=True), read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        case = case_get(user=user, case_id=pk)
        return Response([_holder_item(g) for g in access_holders(case.data_key_id)])


class CaseGrantApi(HavenApi):
    """Give a colleague access: the case's keys are sealed to their public key. Audited."""

    @extend_schema(
        tags=TAGS,
        summary="Grant access",
        request=s.GrantInputSerializer,
        responses=responses(s.GrantOutputSerializer, read=True),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        case = case_get(user=user, case_id=pk)
        data = validated(s.GrantInputSerializer, request.data)
        require_recent_auth(request)
        count = case_grant(ctx=ctx(request), actor=user, case=case, holder=_colleague(data["user"]))
        return Response({"keys_sealed": count})


class CaseRevokeApi(HavenApi):
    """Take access away (supervisors), optionally replacing the case's key. Audited."""

    @extend_schema(
        tags=TAGS,
        summary="Revoke access",
        request=s.RevokeInputSerializer,
        responses=responses(s.HolderSerializer(many=True), read=True),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        case = case_get(user=user, case_id=pk)
        data = validated(s.RevokeInputSerializer, request.data)
        require_recent_auth(request)
        if "user" in data:
            holder: User | TeamKey = _colleague(data["user"])
        else:
            found = TeamKey.objects.filter(pk=data["team_key"]).first()
            if found is None:
                raise ValidationError({"team_key": "No such team key."})
            holder = found
        case = case_revoke(
            ctx=ctx(request), actor=user, case=case, holder=holder, rotate=data["rotate"]
        )
        return Response([_holder_item(g) for g in access_holders(case.data_key_id)])


class CaseDeleteApi(HavenApi):
    """Delete a case for good (supervisors): every copy of its key is destroyed. Audited."""

    @extend_schema(
        tags=TAGS,
        summary="Delete a case and destroy its keys",
        request=s.DeleteInputSerializer,
        responses=versioned(
            OpenApiResponse(description="Deleted: every copy of its keys is destroyed."),
            status=204,
        ),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        case = case_get(user=user, case_id=pk)
        data = validated(s.DeleteInputSerializer, request.data)
        require_recent_auth(request)
        case_delete(ctx=ctx(request), actor=user, case=case, expected_version=data["version"])
        return Response(status=204)
