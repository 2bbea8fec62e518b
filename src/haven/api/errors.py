"""Structured API errors: every service error becomes a clear JSON answer, never a 500."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from haven.cases.journey import TransitionError
from haven.crypto import CryptoError, MissingKeyError
from haven.errors import ConflictError
from haven.vault.context import KeysUnavailableError

logger = logging.getLogger("haven.integrity")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"code": "too_large", "detail": "The request body is too large; nothing was stored."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, KeysUnavailableError):
        return Response({"code": "keys_locked", "detail": str(exc)}, status=401)
    if isinstance(exc, MissingKeyError):
        return Response(
            {
                "code": "no_key",
                "detail": "You hold no key for this record. Ask a colleague who holds it to "
                "grant you access.",
            },
            status=403,
        )
    if isinstance(exc, CryptoError):
        # Tampering or a wrong key: refuse loudly, say nothing about the record's contents.
        logger.error("integrity check failed in %s", type(context.get("view")).__name__)
        return Response(
            {
                "code": "integrity_error",
                "detail": "This record failed its integrity check and was not used. "
                "Tell your administrator.",
            },
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, ConflictError):
        return Response(
            {"code": "conflict", "detail": str(exc), "current_version": exc.current_version},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, TransitionError):
        return Response(
            {
                "code": "invalid_transition",
                "detail": str(exc),
                "from_state": exc.here,
                "to_state": exc.there,
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoValidationError):
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return Response(
            {"code": "invalid", "detail": "The input is not valid.", "errors": errors}, status=400
        )
    if isinstance(exc, DjangoPermissionDenied):
        return Response(
            {"code": "permission_denied", "detail": str(exc) or "Not allowed."}, status=403
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "code" not in response.data:
        detail = response.data
        if set(detail) == {"detail"}:
            response.data = {
                "code": getattr(detail["detail"], "code", "error"),
                "detail": str(detail["detail"]),
            }
            if response.status_code == status.HTTP_400_BAD_REQUEST:
                # A body that is not JSON at all (parse_error): every documented 400 has `errors`.
                response.data["errors"] = {}
        else:
            response.data = {
                "code": "invalid",
                "detail": "The input is not valid.",
                "errors": detail,
            }
    return response
