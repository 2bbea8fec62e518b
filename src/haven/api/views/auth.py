"""Token authentication: exchange a username and password for an API token."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from haven.accounts.two_factor import second_factor_verify, totp_device
from haven.api import serializers as s
from haven.api.authentication import HavenTokenAuthentication
from haven.api.services import api_token_create, api_token_revoke
from haven.api.views.base import HavenApi, validated
from haven.crypto import CryptoError
from haven.lockdown.services import lockdown_active


class TokenObtainApi(HavenApi):
    """A new API token, valid for some hours; send it as ``Authorization: Token <token>``.

    It is shown once: Haven keeps only its digest. It carries your key for its lifetime, so
    ``DELETE`` it when you are done.
    """

    # Token authentication only so that a refusal is 401 with ``WWW-Authenticate: Token``.
    authentication_classes = [HavenTokenAuthentication]
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
            403: s.ErrorSerializer,
            429: OpenApiResponse(
                s.ErrorSerializer,
                description="Too many wrong passwords for this name from this address (code "
                "`locked_out`): wait `Retry-After` seconds.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        if lockdown_active() is not None:
            raise PermissionDenied("Haven is locked down: logins are suspended.")
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise AuthenticationFailed("Wrong username or password.")
        if user.password_change_required:
            raise PermissionDenied("Choose your own password on the web first, then ask again.")
        if totp_device(user) is not None or settings.HAVEN_REQUIRE_2FA:
            if totp_device(user) is None:
                raise PermissionDenied("Set up two-factor login on the web first, then ask again.")
            if not data.get("otp"):
                raise AuthenticationFailed("Two-factor login: send your current code as `otp`.")
            try:
                second_factor_verify(user=user, code=data["otp"])
            except ValidationError as exc:
                raise AuthenticationFailed("That code is not right (or was already used).") from exc
        try:
            token = api_token_create(user=user, password=data["password"])
        except CryptoError as exc:
            raise AuthenticationFailed(
                "Your key could not be unlocked with this password."
            ) from exc
        return Response(self.OutputSerializer({"token": token}).data)

    @extend_schema(
        tags=["auth"],
        summary="Revoke the token used for this call",
        responses={204: None, 401: s.ErrorSerializer},
    )
    def delete(self, request: Request) -> Response:
        from haven.api.models import ApiToken

        if not isinstance(request.auth, ApiToken):
            raise AuthenticationFailed("Send the token to revoke in the Authorization header.")
        api_token_revoke(user=request.user, token=request.auth)  # type: ignore[arg-type]
        return Response(status=204)
