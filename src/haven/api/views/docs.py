"""A self-contained API docs page rendered on the server from the generated OpenAPI schema.

No external assets and no script, so it works under the strict Content-Security-Policy.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def api_schema() -> dict[str, Any]:
    """The OpenAPI schema, generated once per process."""
    return SchemaGenerator().get_schema(request=None, public=True)


def _ref_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "oneOf" in schema:
        return " | ".join(_ref_name(option) for option in schema["oneOf"])
    if schema.get("type") == "array":
        return f"array of {_ref_name(schema.get('items'))}"
    return str(schema.get("type", ""))


def _json_schema(content: dict[str, Any] | None) -> dict[str, Any] | None:
    if not content:
        return None
    media: dict[str, Any] = content.get("application/json") or next(iter(content.values()), {})
    return media.get("schema")


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation as the template shows it: path, method, summary, parameters, schemas."""
    ops = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody") or {}
            ops.append(
                {
                    "path": path,
                    "method": method.upper(),
                    "anchor": op.get("operationId", f"{method}-{path}"),
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "tags": op.get("tags", []),
                    "parameters": [
                        {
                            "name": p.get("name"),
                            "in": p.get("in"),
                            "required": p.get("required", False),
                            "type": _ref_name(p.get("schema")),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "request": _ref_name(_json_schema(body.get("content"))),
                    "responses": [
                        {
                            "status": status,
                            "schema": _ref_name(_json_schema(answer.get("content"))),
                            "description": answer.get("description", ""),
                        }
                        for status, answer in sorted(op.get("responses", {}).items())
                    ],
                }
            )
    return ops


def components(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Schema components with their properties, so request and response names can be looked up."""
    out = []
    for name, comp in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(comp.get("required", []))
        props = [
            {
                "name": prop,
                "type": _ref_name(spec) or ("enum" if "enum" in spec else ""),
                "required": prop in required,
                "read_only": spec.get("readOnly", False),
                "description": spec.get("description", ""),
                "enum": ", ".join(map(str, spec.get("enum", []))),
            }
            for prop, spec in comp.get("properties", {}).items()
        ]
        out.append(
            {
                "name": name,
                "description": comp.get("description", ""),
                "enum": ", ".join(map(str, comp.get("enum", []))),
                "properties": props,
            }
        )
    return out


@login_required
def api_docs(request: HttpRequest) -> HttpResponse:
    schema = api_schema()
    return render(
        request,
        "api/docs.html",
        {
            "info": schema.get("info", {}),
            "operations": operations(schema),
            "components": components(schema),
        },
    )
