"""Messages with a request's requester or broker: read the conversation, write to it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request as ApiRequest
from rest_framework.response import Response

from haven import access
from haven.api import serializers_messages as s
from haven.api.views.base import HavenApi, actor, ctx, page, responses, validated
from haven.cases.selectors import request_get
from haven.messaging.selectors import MessageView, message_list
from haven.messaging.services import message_send
from haven.vault.sealed import payload_read

TAGS = ["messages"]


def message_item(view: MessageView) -> dict[str, Any]:
    m = view.message
    return {
        "id": m.pk,
        "request": m.request_id,
        "author_kind": m.author_kind,
        "author": m.author_id,
        "created_at": m.created_at,
        "body": view.body,
    }


def _require(user: Any, action: str) -> None:
    from django.core.exceptions import PermissionDenied

    if not access.allowed(user, action):
        raise PermissionDenied("Your role cannot do this.")


class MessageListApi(HavenApi):
    """A request's conversation, oldest first (decrypted with your grants; the read is audited)."""

    OutputSerializer = s.MessageOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="List a request's messages",
        responses=responses(s.MessagePageSerializer, read=True, write=False),
    )
    def get(self, request: ApiRequest, pk: UUID) -> Response:
        user = actor(request)
        _require(user, "message.read")
        record = request_get(user=user, request_id=pk)
        views = message_list(ctx=ctx(request), user=user, request=record)
        return page(
            request,
            self,
            views,
            lambda chunk: [message_item(v) for v in chunk],
            self.OutputSerializer,
        )


class MessageSendApi(HavenApi):
    """Write to the request's requester (they read it with their receipt) or broker."""

    InputSerializer = s.MessageSendInputSerializer
    OutputSerializer = s.MessageOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="Send a message",
        request=s.MessageSendInputSerializer,
        responses=responses(s.MessageOutputSerializer, status=201, read=True),
    )
    def post(self, request: ApiRequest, pk: UUID) -> Response:
        user = actor(request)
        _require(user, "message.send")
        record = request_get(user=user, request_id=pk)
        data = validated(self.InputSerializer, request.data)
        message = message_send(ctx=ctx(request), actor=user, request=record, body=data["body"])
        body = str(payload_read(ctx=ctx(request), record=message).get("body", ""))
        view = MessageView(
            message=message,
            body=body,
            author_kind=message.author_kind,
            author_name=user.username,
            created_at=message.created_at,
        )
        return Response(self.OutputSerializer(message_item(view)).data, status=201)
