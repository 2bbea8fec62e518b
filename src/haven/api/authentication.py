"""Bearer tokens of the form ``hv_<secret>``: looked up by digest, never stored as issued."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from haven.crypto import CryptoError, PersonalKey, secret_digest

PREFIX = "hv_"


class HavenTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        from haven.api.models import ApiToken

        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise AuthenticationFailed("Send the token as `Authorization: Token hv_…`.")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("Invalid token.") from exc
        if not token.startswith(PREFIX) or len(token) > 100:
            raise AuthenticationFailed("Invalid token.")
        secret = token[len(PREFIX) :]
        row = (
            ApiToken.objects.select_related("user")
            .filter(digest=secret_digest(secret), expires_at__gt=timezone.now())
            .first()
        )
        if row is None or not row.user.is_active:
            raise AuthenticationFailed("Invalid or expired token.")
        try:
            key = PersonalKey.from_session(
                bytes(row.key_blob), secret, binding=api_token_binding(row.user_id, row.pk)
            )
        except CryptoError as exc:
            raise AuthenticationFailed("Invalid token.") from exc
        request._request._haven_token_key = key  # type: ignore[attr-defined]
        return row.user, row

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def api_token_binding(user_id: object, token_id: object) -> str:
    """What an API token's key blob is bound to: its person and its row."""
    return f"api-token:{user_id}:{token_id}"


class HavenTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token in the OpenAPI schema."""

    target_class = "haven.api.authentication.HavenTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token hv_…`, from POST /api/auth/token/.",
        }
