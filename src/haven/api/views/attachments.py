"""A request's files: the list (names decrypted), and downloading the cleaned copy or, for
supervisors, the original. Every download is audited."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from haven import access
from haven.api.views.base import HavenApi, actor, ctx, responses
from haven.attachments.selectors import (
    CLEANED,
    ORIGINAL,
    attachment_download,
    attachment_get,
    attachment_rows,
)
from haven.cases.selectors import request_get
from haven.web.views.attachments import file_response

TAGS = ["attachments"]


class AttachmentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(help_text="As the sender named it, made safe.")
    kind = serializers.ChoiceField(choices=["image", "pdf"])
    size = serializers.IntegerField(help_text="Bytes of the original.")
    cleaned_size = serializers.IntegerField(help_text="Bytes of the cleaned copy.")
    removed = serializers.ListField(
        child=serializers.CharField(),
        help_text="What the cleaned copy left out (exif, gps, xmp, docinfo, javascript...).",
    )
    created_at = serializers.DateTimeField()
    download = serializers.CharField(help_text="URL of the cleaned copy.")
    original = serializers.CharField(
        allow_null=True, help_text="URL of the original, for those who may open it."
    )


_FILE = OpenApiResponse(OpenApiTypes.BINARY, description="The file, as a download.")
# What a file can be (told by its content when it arrived).
_FILE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf")


def _file_responses() -> dict[Any, Any]:
    answer: dict[Any, Any] = dict(responses(_FILE, read=True, write=False))
    del answer[200]
    answer.update({(200, media): _FILE for media in _FILE_TYPES})
    return answer


class AttachmentListApi(HavenApi):
    """The files sent with a request that you may open (nothing but names is decrypted)."""

    @extend_schema(
        tags=TAGS,
        summary="List a request's files",
        responses=responses(AttachmentOutputSerializer(many=True), read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        record = request_get(user=user, request_id=pk)
        original = access.allowed(user, "attachment.original")
        rows = attachment_rows(ctx=ctx(request), user=user, request=record)
        data = [
            {
                "id": row.attachment.pk,
                "name": row.name,
                "kind": row.kind,
                "size": row.size,
                "cleaned_size": row.cleaned_size,
                "removed": row.removed,
                "created_at": row.attachment.created_at,
                "download": reverse("api-attachment-download", args=[row.attachment.pk]),
                "original": reverse("api-attachment-original", args=[row.attachment.pk])
                if original
                else None,
            }
            for row in rows
        ]
        return Response(AttachmentOutputSerializer(data, many=True).data)


class AttachmentDownloadApi(HavenApi):
    """One file: the cleaned copy (metadata removed), or the original kept as evidence
    (supervisors). Sent as an attachment, never to be rendered; the download is audited."""

    original = False

    @extend_schema(
        tags=TAGS,
        summary="Download a file",
        responses=_file_responses(),
    )
    def get(self, request: Request, pk: UUID) -> HttpResponse:
        user = actor(request)
        attachment = attachment_get(user=user, attachment_id=pk)
        download = attachment_download(
            ctx=ctx(request),
            user=user,
            attachment=attachment,
            copy=ORIGINAL if self.original else CLEANED,
        )
        return file_response(download)


class AttachmentOriginalApi(AttachmentDownloadApi):
    """The original file, with its metadata, kept as evidence: supervisors only; audited."""

    original = True

    @extend_schema(
        tags=TAGS,
        summary="Download a file's original",
        responses=_file_responses(),
    )
    def get(self, request: Request, pk: UUID) -> HttpResponse:
        return super().get(request, pk)
