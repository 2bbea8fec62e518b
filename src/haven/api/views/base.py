"""What every API view shares: authentication, the JSON parser, input checks, pages, errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from haven import access
from haven.accounts.models import User
from haven.api.authentication import HavenTokenAuthentication
from haven.api.serializers import (
    ConflictErrorSerializer,
    ErrorSerializer,
    TransitionErrorSerializer,
    ValidationErrorSerializer,
)
from haven.crypto import KeyContext
from haven.vault.context import key_context

M = TypeVar("M", bound=models.Model)


class HavenApi(APIView):
    """Base of every API view. Token first, so a missing or bad token is answered 401.

    JSON only: bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` are refused with 413 before parsing
    (see :mod:`haven.api.errors`); invalid UTF-8 and malformed JSON are 400.
    """

    authentication_classes = [HavenTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]


def actor(request: Request) -> User:
    return cast(User, request.user)


def ctx(request: Request) -> KeyContext:
    return key_context(request)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Shape and type checks; anything wrong is a 400 with field errors."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validated query-string filters (the page number is the paginator's)."""
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    return validated(serializer_class, params)


def require_case_reader(user: User) -> None:
    """Roles that never see cases are told so (403) whatever the id, which reveals nothing."""
    if not access.has_role(user, access.CASE_READERS):
        raise PermissionDenied("Your role cannot see cases.")


def require_staff(user: User) -> None:
    if not access.allowed(user, "partner.read"):
        raise PermissionDenied("Your role cannot do this.")


def lookup(queryset: models.QuerySet[M], pk: Any, *, field: str, label: str) -> M:
    """A record named in a request body, or 400 on that field (same answer for unseen ones)."""
    try:
        return queryset.get(pk=pk)
    except ObjectDoesNotExist as exc:
        raise serializers.ValidationError({field: [f"Unknown {label}."]}) from exc


def page(
    request: Request,
    view: APIView,
    items: models.QuerySet[Any] | Sequence[Any],
    render: Callable[[list[Any]], Iterable[Any]],
    serializer_class: type[serializers.Serializer],
) -> Response:
    """One page of ``items``; ``render`` turns the page (and only the page) into output rows."""
    paginator = PageNumberPagination()
    chunk = paginator.paginate_queryset(cast(Any, items), request, view=view) or []
    data = serializer_class(list(render(list(chunk))), many=True).data
    return paginator.get_paginated_response(data)


_E400 = OpenApiResponse(ValidationErrorSerializer, description="Invalid input; nothing stored.")
_E401 = OpenApiResponse(ErrorSerializer, description="Not authenticated.")
_E403 = OpenApiResponse(ErrorSerializer, description="Your role may not do this.")
_E404 = OpenApiResponse(ErrorSerializer, description="No such record, or not yours to see.")
_E409 = OpenApiResponse(
    ConflictErrorSerializer, description="Stale version: the record changed; nothing stored."
)
_E409_MOVE = OpenApiResponse(
    PolymorphicProxySerializer(
        component_name="TransitionConflict",
        serializers=[ConflictErrorSerializer, TransitionErrorSerializer],
        resource_type_field_name=None,
    ),
    description="Stale version (code `conflict`) or a move the journey does not allow "
    "(code `invalid_transition`); nothing changed.",
)
_E413 = OpenApiResponse(ErrorSerializer, description="Request body too large.")


def responses(
    ok: Any,
    *,
    status: int = 200,
    read: bool = False,
    write: bool = True,
    query: bool = False,
    move: bool = False,
) -> dict[int, Any]:
    """Documented answers: ``ok`` plus the errors this kind of endpoint can give."""
    answer: dict[int, Any] = {status: ok, 401: _E401, 403: _E403}
    if read:
        answer[404] = _E404
    if query:
        answer[400] = _E400
    if write:
        answer[400] = _E400
        answer[413] = _E413
    if move:
        answer[409] = _E409_MOVE
    return answer


def versioned(ok: Any, *, move: bool = False, status: int = 200) -> dict[int, Any]:
    """Answers of an update that takes a version: may also be 404 and 409."""
    answer = responses(ok, read=True, status=status)
    answer[409] = _E409_MOVE if move else _E409
    return answer


def require_recent_auth(request: Request) -> None:
    """Grave actions need a password typed recently: a token obtained in the last
    ``HAVEN_REAUTH_SECONDS``, or (with a browser session) the password confirmed that recently."""
    import time

    from django.conf import settings

    from haven.accounts.middleware import AUTH_AT
    from haven.api.models import ApiToken
    from haven.errors import ReauthenticationRequired

    limit = settings.HAVEN_REAUTH_SECONDS
    if isinstance(request.auth, ApiToken):
        fresh = (timezone.now() - request.auth.created_at).total_seconds() <= limit
    else:
        typed = request._request.session.get(AUTH_AT)
        fresh = isinstance(typed, int | float) and time.time() - typed <= limit
    if not fresh:
        raise ReauthenticationRequired(
            f"Confirm your password first: obtain a new token (it allows this for {limit} s)."
        )
