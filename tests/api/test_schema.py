"""The OpenAPI schema as a client generator reads it: one content type per operation, typed models,
one error component, readable names. Checked on the generated schema, for every operation."""

import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from common.openapi import ERROR_CODES

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield f"{method.upper()} {path}", operation


def resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def uploads_a_file(schema, body):
    properties = resolve(schema, body).get("properties", {})
    return any(p.get("format") == "binary" or p.get("items", {}).get("format") == "binary" for p in properties.values())


def test_no_operation_accepts_multipart_unless_it_uploads_a_file(schema):
    bodies = {name: op["requestBody"]["content"] for name, op in operations(schema) if "requestBody" in op}
    assert bodies
    for name, content in bodies.items():
        (media_type,) = content  # one content type per operation
        expected = (
            "multipart/form-data" if uploads_a_file(schema, content[media_type]["schema"]) else "application/json"
        )
        assert media_type == expected, name
    assert list(bodies["POST /api/v1/claims/{id}/documents"]) == ["multipart/form-data"]
    assert list(bodies["POST /api/v1/funding/simulate"]) == ["application/json"]


def test_file_fields_are_binary_and_downloads_one_binary_response(schema):
    upload = schema["components"]["schemas"]["DocumentUploadRequest"]["properties"]["file"]
    assert upload == upload | {"type": "string", "format": "binary"}
    downloads = [op for name, op in operations(schema) if name.endswith("/download")]
    assert len(downloads) == 2
    for operation in downloads:
        content = operation["responses"]["200"]["content"]
        assert next(iter(content)) == "application/octet-stream"  # what openapi-python-client reads as bytes
        assert {"application/pdf", "image/png", "image/jpeg"} <= set(content)
        assert all(media["schema"] == {"type": "string", "format": "binary"} for media in content.values())


def test_every_error_response_references_the_error_component(schema):
    for name, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == ERROR_REF, (name, status)
                assert set(response["content"]) == {"application/json"}, (name, status)
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "detail", "errors"]
    assert error["properties"]["errors"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    assert error["properties"]["code"]["allOf"] == [{"$ref": "#/components/schemas/ErrorCodeEnum"}]
    assert schema["components"]["schemas"]["ErrorCodeEnum"]["enum"] == list(ERROR_CODES)


def test_every_operation_documents_the_errors_it_can_answer(schema):
    for name, operation in operations(schema):
        statuses = set(operation["responses"])
        assert "400" in statuses, name  # a query parameter with a NUL, given twice, or unknown
        if "{" in name or any(p["name"] == "page" for p in operation.get("parameters", [])):
            assert "404" in statuses, name
        if "requestBody" in operation:
            assert {"413", "415"} <= statuses, name
        if any(operation.get("security", [])):
            assert "401" in statuses, name
        if "429" in statuses:
            assert "Retry-After" in operation["responses"]["429"]["headers"], name


def _views(resolver=None):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "view_class"):
            yield pattern.callback.view_class


def test_every_throttled_operation_documents_429_with_retry_after(schema):
    throttled = {view for view in _views() if getattr(view, "throttle_classes", None) and view.throttle_scope}
    assert {view.__name__ for view in throttled} == {"AuthTokenView", "SimulateFundingView", "InvitationAcceptView"}
    documented = {
        name for name, op in operations(schema) if "Retry-After" in op["responses"].get("429", {}).get("headers", {})
    }
    assert {
        "POST /api/v1/auth/token",
        "DELETE /api/v1/auth/token",
        "POST /api/v1/funding/simulate",
        "POST /api/v1/invitations/accept",
    } <= documented


def test_error_codes_raised_by_the_code_are_all_in_the_enum():
    """Codes passed to a domain error, set on an exception class or written in a JSON error body."""
    patterns = [
        re.compile(
            r"""(?:Error|Input|Allowed|Conflict|Failed|Large|Type|Exception)\([^()]*?\bcode=["']([a-z_]+)["']"""
        ),
        re.compile(r"""^\s+(?:default_)?code = ["']([a-z_]+)["']""", re.M),
        re.compile(r""""code": ["']([a-z_]+)["']"""),
        re.compile(r"""_api_error\([^()]*?["']([a-z_]+)["'], \d{3}\)"""),
    ]
    raised = set()
    for app in ("claims", "common", "funding", "operators", "portal", "demo", "config"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            text = re.sub(r"ValidationError\([^()]*\)", "", text)  # field-level codes, not the body's `code`
            for pattern in patterns:
                raised |= set(pattern.findall(text))
    assert raised, "the patterns found nothing: update them"
    assert raised - set(ERROR_CODES) == set()


def test_claim_detail_is_typed_and_its_fields_required(schema):
    components = schema["components"]["schemas"]
    detail = components["ClaimDetail"]
    assert set(detail["required"]) == set(detail["properties"])  # a model serializer sends every field
    assert detail["properties"]["breakdown"]["allOf"] == [{"$ref": "#/components/schemas/ClaimBreakdown"}]
    assert detail["properties"]["breakdown"]["nullable"] is True  # a draft's
    assert detail["properties"]["deadline"]["format"] == "date-time"
    assert set(detail["properties"]["abilities"]["required"]) >= {"submit", "withdraw", "resubmit", "upload"}
    breakdown = components["ClaimBreakdown"]
    assert set(breakdown["required"]) == set(breakdown["properties"]) - {"snapshot", "advance_granted"}
    assert set(components["Breakdown"]["properties"]) < set(breakdown["properties"])  # the simulator's, extended
    for name in ("Breakdown", "ClaimBreakdown"):
        assert components[name]["properties"]["lines"]["items"] == {"$ref": "#/components/schemas/BreakdownLine"}
    assert components["BreakdownLine"]["properties"]["type"] == {"$ref": "#/components/schemas/MailboxTypeEnum"}
    assert components["MailboxTypeEnum"]["enum"] == ["APP", "ORG", "PER"]
    line = components["CountSourceLine"]
    assert line["properties"]["source"] == {"$ref": "#/components/schemas/CountSourceEnum"}
    assert components["CountSources"]["required"] == ["APP", "ORG", "PER"]
    campaign = components["Campaign"]["properties"]
    assert campaign["advance_deadline"]["format"] == campaign["balance_deadline"]["format"] == "date-time"
    assert components["Recovery"]["properties"]["observations_deadline"]["format"] == "date-time"


def test_strings_a_serializer_refuses_blank_have_a_minimum_length(schema):
    token = schema["components"]["schemas"]["TokenInputRequest"]["properties"]
    assert token["username"]["minLength"] == 1
    assert token["username"]["pattern"] == r"\S"  # trimmed: blanks only are refused too
    assert "pattern" not in token["password"]  # not trimmed
    comment = schema["components"]["schemas"]["CommentRequest"]["properties"]["comment"]
    assert "minLength" not in comment  # may be blank


def test_operation_ids_are_unique_and_readable_and_tags_name_the_resource(schema):
    ids = {name: op["operationId"] for name, op in operations(schema)}
    assert len(set(ids.values())) == len(ids)
    for name, operation_id in ids.items():
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", operation_id), name
        assert not operation_id.startswith("v1"), name
    assert ids["GET /api/v1/claims"] == "claims_list"
    assert ids["POST /api/v1/claims/{id}/submit"] == "claims_submit"
    assert ids["POST /api/v1/webhooks/{id}/rotate-secret"] == "webhooks_rotate_secret"
    assert ids["GET /api/v1/claims/{id}/documents/{doc_id}/download"] == "claims_documents_download"
    assert ids["POST /api/v1/funding/simulate"] == "funding_simulate"
    tags = {name: op["tags"] for name, op in operations(schema)}
    assert all(len(t) == 1 for t in tags.values())
    assert {t[0] for t in tags.values()} == {
        "auth",
        "campaigns",
        "claims",
        "enrolments",
        "events",
        "funding",
        "invitations",
        "operator",
        "schedules",
        "webhooks",
    }


def test_filter_parameters_reference_the_enums(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/claims"]["get"]["parameters"]}
    assert parameters["state"]["schema"] == {"$ref": "#/components/schemas/ClaimStateEnum"}
    assert parameters["kind"]["schema"] == {"$ref": "#/components/schemas/ClaimKindEnum"}
    assert parameters["page"]["schema"] == {"type": "integer", "minimum": 1}
    ordering = parameters["ordering"]
    assert ordering["style"] == "form" and ordering["explode"] is False
    assert set(ordering["schema"]["items"]["enum"]) == {
        f"{sign}{name}" for name in ("created_at", "submitted_at", "amount", "deadline") for sign in ("", "-")
    }
    names = set(schema["components"]["schemas"])
    assert not [name for name in names if name.startswith("V1") or not name.isascii()]


def test_bearer_and_token_schemes_are_declared(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == schemes["bearerAuth"] | {"type": "http", "scheme": "bearer"}
    assert schemes["tokenAuth"] == schemes["tokenAuth"] | {"type": "apiKey", "in": "header", "name": "Authorization"}
    claims = schema["paths"]["/api/v1/claims"]["get"]["security"]
    assert {"bearerAuth": []} in claims and {"tokenAuth": []} in claims
