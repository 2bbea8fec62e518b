"""The OpenAPI schema is complete, valid and warning-free; the docs page is self-contained."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from haven.api import urls as api_urls
from tests.factories import login

pytestmark = pytest.mark.django_db

NOT_IN_SCHEMA = {"schema/", "docs/"}


@pytest.fixture(scope="module")
def schema():
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    warnings = dict(GENERATOR_STATS._warn_cache)
    errors = dict(GENERATOR_STATS._error_cache)
    return generated, warnings, errors


def _api_paths() -> set[str]:
    paths = set()
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern | URLResolver)
        route = str(pattern.pattern)
        if route in NOT_IN_SCHEMA:
            continue
        paths.add("/api/" + re.sub(r"<(?:uuid|int):(\w+)>", r"{id}", route))
    return paths


def test_schema_generates_without_warnings_or_errors(schema):
    _, warnings, errors = schema

    assert warnings == {}
    assert errors == {}


def test_schema_is_valid_openapi(schema):
    generated, _, _ = schema

    validate_schema(generated)
    assert generated["openapi"].startswith("3.")


def test_every_api_route_is_in_the_schema(schema):
    generated, _, _ = schema

    assert _api_paths() <= set(generated["paths"]), _api_paths() - set(generated["paths"])


def test_every_change_documents_its_errors_and_versioned_changes_document_409(schema):
    generated, _, _ = schema
    for path, item in generated["paths"].items():
        for method in ("post", "put", "patch"):
            op = item.get(method)
            if op is None:
                continue
            codes = set(op["responses"])
            assert {"400"} <= codes, (method, path)
            if path == "/api/auth/token/":
                continue
            assert {"401", "403"} <= codes, (method, path)
            content = op["requestBody"]["content"]
            # JSON, or a file upload (imports) where JSON makes no sense.
            body = (content.get("application/json") or content["multipart/form-data"])["schema"][
                "$ref"
            ]
            component = generated["components"]["schemas"][body.rsplit("/", 1)[-1]]
            if "version" in component.get("properties", {}):
                assert {"404", "409"} <= codes, (method, path)
                assert "version" in component["required"], (method, path)


def test_state_choices_are_one_named_enum(schema):
    generated, _, _ = schema
    components = generated["components"]["schemas"]

    assert "JourneyStateEnum" in components
    assert "arrived" in components["JourneyStateEnum"]["enum"]
    assert not [name for name in components if re.search(r"[0-9a-f]{3}Enum$", name)]


def test_schema_endpoint_serves_the_schema(client_for, bob):
    response = client_for(bob).get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    assert "/api/cases/{id}/transition/" in response.json()["paths"]


def test_docs_page_lists_every_operation_without_external_assets_or_script(client, bob):
    login(client, bob)

    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    for path in _api_paths():
        assert path in html, path
    assert "CaseTransitionInputRequest" in html and "ConflictError" in html
    assert "<script" not in html.lower()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert " style=" not in html
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_docs_page_needs_a_login(client):
    response = client.get("/api/docs/")

    assert response.status_code == 302


def test_deleting_a_case_is_documented_as_the_204_it_answers(schema):
    generated, _, _ = schema

    answers = generated["paths"]["/api/cases/{id}/delete/"]["post"]["responses"]

    assert "204" in answers and "200" not in answers
    assert "content" not in answers["204"]


def test_every_request_body_refuses_unknown_fields_in_the_schema(schema):
    generated, _, _ = schema
    components = generated["components"]["schemas"]

    bodies = set()
    for operations in generated["paths"].values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                bodies.add(media["schema"]["$ref"].rsplit("/", 1)[1])
    nested = {
        ref.rsplit("/", 1)[1]
        for name in bodies
        for ref in re.findall(r"'\$ref': '([^']+)'", str(components[name]))
    }

    assert bodies
    for name in sorted(bodies | {n for n in nested if n.endswith("Request")}):
        assert components[name].get("additionalProperties") is False, name


def test_booleans_in_request_bodies_are_plain_booleans(schema):
    generated, _, _ = schema

    partner = generated["components"]["schemas"]["PartnerUpdateInputRequest"]
    assert partner["properties"]["active"] == {"type": "boolean"}
