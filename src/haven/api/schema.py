"""What the OpenAPI schema says beyond drf-spectacular's defaults (registered in ApiConfig.ready).

Every input serializer refuses fields it does not know (:class:`haven.api.serializers.StrictSerializer`
answers 400), so its request body is documented with ``additionalProperties: false``: a client
generated from the schema learns it, and schemathesis sends unknown fields only as invalid input.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension


class StrictSerializerExtension(OpenApiSerializerExtension):
    target_class = "haven.api.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(
            self.target, direction, bypass_extensions=True
        )
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
