"""Shapes of the message endpoints (a request's conversation with its requester or broker)."""

from __future__ import annotations

from rest_framework import serializers

from haven.api.serializers import StrictSerializer, Text, _page_of
from haven.messaging.models import Author
from haven.messaging.services import MAX_BODY_CHARS


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    request = serializers.UUIDField()
    author_kind = serializers.ChoiceField(choices=Author.choices)
    author = serializers.IntegerField(allow_null=True, help_text="The staff member, if staff.")
    created_at = serializers.DateTimeField()
    body = serializers.CharField(
        allow_null=True, help_text="Null if you hold no key of this conversation."
    )


class MessageSendInputSerializer(StrictSerializer):
    body = Text(max_length=MAX_BODY_CHARS, allow_blank=False)


MessagePageSerializer = _page_of(MessageOutputSerializer, "MessagePageSerializer")
