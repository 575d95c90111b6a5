"""The schema documents Idempotency-Key, If-Match, ETag, Location and the webhook envelope and signature
(common.openapi.document_api_flow) exactly where the views honour them."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from operators.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER

IDEMPOTENT = {
    ("post", "/api/v1/claims"),
    ("post", "/api/v1/claims/{id}/submit"),
    ("post", "/api/v1/claims/{id}/withdraw"),
    ("post", "/api/v1/claims/{id}/resubmit"),
    ("post", "/api/v1/claims/{id}/documents"),
    ("post", "/api/v1/claims/{id}/recoveries/{recovery_id}/observations"),
    ("post", "/api/v1/operator/bank-details"),
    ("post", "/api/v1/operator/invitations"),
    ("post", "/api/v1/operator/invitations/{id}/revoke"),
    ("post", "/api/v1/enrolments"),
    ("post", "/api/v1/enrolments/{id}/resubmit"),
    ("post", "/api/v1/webhooks"),
    ("post", "/api/v1/webhooks/{id}/rotate-secret"),
}
IF_MATCH = {
    ("patch", "/api/v1/claims/{id}"),
    ("post", "/api/v1/claims/{id}/submit"),
    ("post", "/api/v1/claims/{id}/withdraw"),
    ("post", "/api/v1/claims/{id}/resubmit"),
    ("post", "/api/v1/enrolments/{id}/resubmit"),
    ("patch", "/api/v1/webhooks/{id}"),
    ("delete", "/api/v1/webhooks/{id}"),
    ("post", "/api/v1/webhooks/{id}/rotate-secret"),
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema, header):
    return {
        (method, path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if any(p["name"] == header and p["in"] == "header" for p in operation.get("parameters", []))
    }


def test_idempotency_key_is_documented_on_every_post_that_creates_or_transitions(schema):
    assert operations(schema, "Idempotency-Key") == IDEMPOTENT
    for method, path in IDEMPOTENT:
        responses = schema["paths"][path][method]["responses"]
        assert {"409", "422"} <= set(responses)


def test_if_match_is_documented_on_patch_and_transitions_with_412(schema):
    assert operations(schema, "If-Match") == IF_MATCH
    for method, path in IF_MATCH:
        assert "412" in schema["paths"][path][method]["responses"]


def test_etag_and_location_headers_are_documented(schema):
    claims = schema["paths"]["/api/v1/claims"]["post"]["responses"]["201"]["headers"]
    assert {"ETag", "Location", "Idempotent-Replayed"} <= set(claims)
    assert "ETag" in schema["paths"]["/api/v1/claims/{id}"]["get"]["responses"]["200"]["headers"]
    assert "ETag" in schema["paths"]["/api/v1/enrolments/{id}"]["get"]["responses"]["200"]["headers"]
    assert "ETag" in schema["paths"]["/api/v1/webhooks/{id}"]["get"]["responses"]["200"]["headers"]


def test_the_webhook_envelope_and_signature_headers_are_components(schema):
    components = schema["components"]
    assert set(components["headers"]) == {SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER, EVENT_HEADER}
    envelope = components["schemas"]["EventEnvelope"]
    assert set(envelope["required"]) == {"id", "type", "created_at", "data"}
    page = schema["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert page == {"$ref": "#/components/schemas/EventPage"}
