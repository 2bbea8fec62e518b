"""Token authentication: exchange a username and password for an API token."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from haven.api import serializers as s
from haven.api.views.base import HavenApi, validated
from haven.audit.services import audit_record


class TokenObtainApi(HavenApi):
    """Your API token (created on first use); send it as ``Authorization: Token <token>``."""

    # Token authentication only so that a refusal is 401 with ``WWW-Authenticate: Token``.
    authentication_classes = [TokenAuthentication]
    permission_classes = [AllowAny]
    InputSerializer = s.TokenObtainInputSerializer
    OutputSerializer = s.TokenOutputSerializer

    @extend_schema(
        tags=["auth"],
        summary="Obtain an API token",
        auth=[],
        request=s.TokenObtainInputSerializer,
        responses={
            200: s.TokenOutputSerializer,
            400: s.ValidationErrorSerializer,
            401: s.ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise AuthenticationFailed("Wrong username or password.")
        token, created = Token.objects.get_or_create(user=user)
        audit_record(actor=user, action="api.token", detail={"created": created})
        return Response(self.OutputSerializer({"token": token.key}).data)
