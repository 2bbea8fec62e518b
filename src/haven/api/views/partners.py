"""Partners: the agencies that receive referrals."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from haven.api import serializers as s
from haven.api.views.base import (
    HavenApi,
    actor,
    page,
    require_staff,
    responses,
    validated,
    versioned,
)
from haven.errors import ConflictError
from haven.referrals.models import Partner
from haven.referrals.selectors import partner_list
from haven.referrals.services import partner_create, partner_update

TAGS = ["partners"]


def _find(pk: Any) -> Partner:
    try:
        return partner_list().get(pk=pk)
    except Partner.DoesNotExist as exc:
        raise NotFound("No such partner.") from exc


class PartnerListApi(HavenApi):
    """Partner agencies; supervisors and administrators register new ones."""

    InputSerializer = s.PartnerCreateInputSerializer
    OutputSerializer = s.PartnerOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="List partners",
        operation_id="partners_list",
        responses=responses(s.PartnerPageSerializer, write=False),
    )
    def get(self, request: Request) -> Response:
        require_staff(actor(request))
        return page(request, self, partner_list(), lambda chunk: chunk, self.OutputSerializer)

    @extend_schema(
        tags=TAGS,
        summary="Register a partner",
        request=s.PartnerCreateInputSerializer,
        responses=responses(s.PartnerOutputSerializer, status=201),
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        created = partner_create(actor=actor(request), **data)
        return Response(self.OutputSerializer(created).data, status=201)


class PartnerDetailApi(HavenApi):
    """One partner; rename, move or deactivate it."""

    InputSerializer = s.PartnerUpdateInputSerializer
    OutputSerializer = s.PartnerOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="Read a partner",
        responses=responses(s.PartnerOutputSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        require_staff(actor(request))
        return Response(self.OutputSerializer(_find(pk)).data)

    @extend_schema(
        tags=TAGS,
        summary="Update a partner",
        request=s.PartnerUpdateInputSerializer,
        responses=versioned(s.PartnerOutputSerializer),
    )
    def put(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_staff(user)
        partner = _find(pk)
        data = validated(self.InputSerializer, request.data)
        try:
            updated = partner_update(
                actor=user,
                partner=partner,
                expected_version=data["version"],
                name=data["name"],
                country=data["country"],
                active=data["active"],
            )
        except ConflictError as exc:
            current = partner_list().filter(pk=pk).values_list("version", flat=True).first()
            raise ConflictError(current_version=current) from exc
        return Response(self.OutputSerializer(updated).data)
