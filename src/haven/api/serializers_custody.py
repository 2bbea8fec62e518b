"""Shapes of the key-custody endpoints: who holds a case, grants, revocation and deletion."""

from __future__ import annotations

from rest_framework import serializers

from haven.api.serializers import Boolean, StrictSerializer


class HolderSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["person", "team_key"])
    user = serializers.IntegerField(allow_null=True)
    username = serializers.CharField(allow_null=True)
    team_key = serializers.UUIDField(allow_null=True)
    team_key_kind = serializers.CharField(allow_null=True)
    stale = serializers.BooleanField(help_text="Lost with a password reset: opens nothing.")
    granted_by = serializers.IntegerField(allow_null=True)
    granted_at = serializers.DateTimeField()


class GrantInputSerializer(StrictSerializer):
    user = serializers.IntegerField(min_value=1, help_text="The colleague to give access to.")


class GrantOutputSerializer(serializers.Serializer):
    keys_sealed = serializers.IntegerField()


class RevokeInputSerializer(StrictSerializer):
    user = serializers.IntegerField(min_value=1, required=False)
    team_key = serializers.UUIDField(required=False)
    rotate = Boolean(
        default=False, help_text="Also replace the case's key and re-encrypt its records."
    )

    def validate(self, attrs: dict) -> dict:
        if ("user" in attrs) == ("team_key" in attrs):
            raise serializers.ValidationError("Give exactly one of user or team_key.")
        return attrs


class DeleteInputSerializer(StrictSerializer):
    version = serializers.IntegerField(min_value=1)
    confirm = serializers.ChoiceField(
        choices=["DELETE"], help_text="Must be DELETE: the case's keys are destroyed for good."
    )
