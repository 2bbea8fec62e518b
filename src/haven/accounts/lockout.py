"""The answer to a locked-out login (django-axes' AXES_LOCKOUT_CALLABLE): the web page, or the
API's JSON error with ``Retry-After``, like every other API error."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

API_PREFIX = "/api/"


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    status = settings.AXES_HTTP_RESPONSE_CODE
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse(
            {
                "code": "locked_out",
                "detail": "Too many wrong passwords for this name from this address: logging "
                f"in is paused for {minutes} minutes. Nothing was issued.",
            },
            status=status,
        )
    else:
        response = render(request, settings.AXES_LOCKOUT_TEMPLATE, {}, status=status)
    response["Retry-After"] = str(minutes * 60)
    return response
