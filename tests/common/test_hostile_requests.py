"""Hostile requests at the edge, on every API route of the URLConf: never a 500, always a JSON answer.

Routes come from `get_resolver()` (not a list kept by hand), so a new route is covered the day it is
added; the string fields of each request body come from the OpenAPI schema. Each route gets, with
every method: a JSON body nested 1 000 levels deep, NUL bytes and lone surrogates in each string
field (body and query string), OPTIONS, a 10 MB body, and a non-numeric id in place of each number.
"""

import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from common.ratelimit import AddressRateThrottle
from operators import services as operator_services
from tests.factories import api_key_for, ready_advance

pytestmark = pytest.mark.django_db

METHODS = ["get", "post", "put", "patch", "delete", "options"]
WRITES = ["post", "put", "patch", "delete"]
DEEP = ('{"a":' * 1000 + "1" + "}" * 1000).encode()
# Pages meant for browsers: their successful answers are HTML by design (errors are still JSON).
HTML_PAGES = {"/api/docs/"}


def api_routes():
    """(regex, name) of every route under /api/, walked from the root URLConf."""

    def walk(patterns, prefix):
        for pattern in patterns:
            regex = prefix + pattern.pattern.regex.pattern.lstrip("^")
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, regex.rstrip("$"))
            elif isinstance(pattern, URLPattern):
                yield regex

    return [regex for regex in walk(get_resolver().url_patterns, "") if regex.startswith("api/")]


GROUP = re.compile(r"\(\?P<(\w+)>([^)]*)\)")


def concrete(regex, ids, *, bad_id=False):
    """A path matching `regex`: each named group replaced by a real id (or "abc" for a number)."""

    def value(match):
        name, body = match.groups()
        if bad_id and "\\d" in body:
            return "abc"
        return str(ids.get((regex.split("/")[1], name), 1))

    path = GROUP.sub(value, regex)
    path = path.replace("/?$", "/").replace("$", "").replace("\\", "")
    return "/" + path if path != "api/" else "/api/v1/claims/"


def string_fields(schema, path, method):
    """Names of the string properties of the operation's request body (JSON or form)."""
    operation = schema["paths"].get(path.rstrip("/"), schema["paths"].get(path, {})).get(method, {})
    names = set()
    for media in operation.get("requestBody", {}).get("content", {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        component = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], media.get("schema", {}))
        for name, prop in component.get("properties", {}).items():
            if prop.get("type") == "string" or "$ref" in prop or "enum" in prop:
                names.add(name)
    return names or {"name"}


def schema_path(regex):
    return "/" + GROUP.sub(lambda m: "{" + m.group(1) + "}", regex).replace("/?$", "").replace("$", "")


@pytest.fixture
def world(monkeypatch, settings):
    settings.AXES_ENABLED = False
    monkeypatch.setattr(AddressRateThrottle, "THROTTLE_RATES", {"simulate": None, "token": None, "invitation": None})
    claim, user = ready_advance()
    webhook, _ = operator_services.webhook_create(operator=claim.operator, url="https://hooks.example.fr/x", actor=user)
    ids = {
        ("v1", "id"): claim.pk,  # overwritten per prefix below
        ("claims", "id"): claim.pk,
        ("claims", "doc_id"): claim.documents.first().pk,
        ("webhooks", "id"): webhook.pk,
        ("campaigns", "code"): claim.campaign.code,
    }
    key = api_key_for(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return client, {(k[0], k[1]): v for k, v in ids.items()}, schema


def ids_for(regex, ids):
    segment = regex.split("/")[1] if regex.startswith("api/v1/") else ""
    return {name: value for (prefix, name), value in ids.items() if prefix == segment}


def concrete_path(regex, ids, *, bad_id=False):
    own = ids_for(regex, ids)

    def value(match):
        name, body = match.groups()
        if bad_id and "\\d" in body:
            return "abc"
        return str(own.get(name, 1))

    path = GROUP.sub(value, regex).replace("/?$", "").replace("$", "").replace("\\", "")
    return "/" + path


def assert_json_error(response, path, method):
    assert response.status_code < 500, f"{method.upper()} {path}: {response.status_code}"
    if response.status_code >= 400 or path not in HTML_PAGES:
        content_type = response.get("Content-Type", "")
        if response.status_code != 204:
            assert content_type.startswith(("application/json", "application/vnd.oai.openapi")), (
                f"{method.upper()} {path}: {response.status_code} {content_type}"
            )


def each_route(world):
    client, ids, schema = world
    for regex in api_routes():
        if "(" in regex and "?P<" not in regex:
            continue
        yield client, regex, ids, schema


def test_every_api_route_is_walked(world):
    routes = api_routes()
    assert any("webhooks" in r for r in routes) and any("claims" in r for r in routes)
    assert len(routes) >= 20


def test_deeply_nested_json_is_a_400_everywhere(world):
    for client, regex, ids, _ in each_route(world):
        path = concrete_path(regex, ids)
        for method in WRITES:
            response = getattr(client, method)(path, DEEP, content_type="application/json")
            assert_json_error(response, path, method)


def test_nul_and_lone_surrogates_are_refused_as_field_errors_everywhere(world):
    for client, regex, ids, schema in each_route(world):
        path = concrete_path(regex, ids)
        for method in WRITES:
            for bad in ("a\\u0000", "\\ud800"):
                fields = string_fields(schema, schema_path(regex), method)
                body = "{" + ",".join(f'{json.dumps(name)}: "{bad}"' for name in sorted(fields)) + "}"
                response = getattr(client, method)(path, body.encode(), content_type="application/json")
                assert_json_error(response, path, method)
                if response.status_code == 400:
                    assert response.json()["code"] in ("invalid", "parse_error"), (path, response.json())
                form = dict.fromkeys(fields, "a\x00")
                response = getattr(client, method)(path, form, format="multipart")
                assert_json_error(response, path, method)
        for name in ("state", "campaign", "kind", "page", "code"):
            response = client.get(path, {name: "a\x00"})
            assert_json_error(response, path, "get")


def test_options_answers_on_every_route(world):
    for client, regex, ids, _ in each_route(world):
        path = concrete_path(regex, ids)
        response = client.options(path)
        assert_json_error(response, path, "options")
        response = APIClient().options(path)  # anonymous
        assert_json_error(response, path, "options")


def test_a_10_mb_body_is_a_413_json_everywhere(world):
    big = b'{"a": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    for client, regex, ids, _ in each_route(world):
        path = concrete_path(regex, ids)
        response = client.post(path, big, content_type="application/json")
        assert_json_error(response, path, "post")
        response = client.post(
            path, b"a=" + b"x" * (10 * 1024 * 1024), content_type="application/x-www-form-urlencoded"
        )
        assert_json_error(response, path, "post")


def test_non_numeric_ids_are_a_404_json_with_every_method(world):
    session = APIClient(enforce_csrf_checks=True)
    for client, regex, ids, _ in each_route(world):
        if "\\d" not in regex:
            continue
        path = concrete_path(regex, ids, bad_id=True)
        for method in METHODS:
            for who in (client, session):
                response = getattr(who, method)(path)
                assert_json_error(response, path, method)
                if method != "options":
                    assert response.status_code == 404, (method, path, response.status_code)


def test_named_findings_of_issue_13(world, api_client):
    client, ids, _ = world
    # Deep JSON on the anonymous endpoints.
    for path in ("/api/v1/auth/token", "/api/v1/funding/simulate", "/api/v1/invitations/accept"):
        response = api_client.post(path, DEEP, content_type="application/json")
        assert response.status_code == 400 and response.json()["code"] == "parse_error"
    # A NUL in a lookup field is a field error.
    response = api_client.post(
        "/api/v1/funding/simulate",
        b'{"schedule": "a\\u0000", "counts": {"APP": 1, "ORG": 1, "PER": 1}}',
        content_type="application/json",
    )
    assert response.status_code == 400 and "schedule" in response.json()["errors"]
    response = client.post(
        "/api/v1/claims", b'{"campaign": "\\u0000", "kind": "advance"}', content_type="application/json"
    )
    assert response.status_code == 400 and "campaign" in response.json()["errors"]
    # OPTIONS on views without a serializer.
    for path in (
        "/api/v1/claims",
        f"/api/v1/claims/{ids[('claims', 'id')]}/documents",
        "/api/v1/enrolments",
        "/api/v1/operator/invitations",
        "/api/v1/webhooks",
    ):
        assert client.options(path).status_code == 200
    # 10 MB → 413; a POST to an unroutable id → 404 JSON, not the CSRF page.
    response = client.post("/api/v1/auth/token", b"x" * (10 * 1024 * 1024), content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "request_too_large"
    response = APIClient(enforce_csrf_checks=True).post("/api/v1/webhooks/abc/rotate-secret")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    # 1e999 is not a string.
    response = client.post(
        f"/api/v1/claims/{ids[('claims', 'id')]}/withdraw", b'{"comment": 1e999}', content_type="application/json"
    )
    assert response.status_code == 400
