"""Token auth (docs/spec/SPEC.md §6): JSON in and out, throttled, 400 on bad credentials, 401 for anonymous calls."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from operators.auth import token_digest
from operators.models import ApiToken
from tests.factories import OperatorFactory, UserFactory, operator_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return operator_user(OperatorFactory(eligible=True), username="op-token")


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/auth/token/"])
def test_token_is_issued_for_good_credentials_with_or_without_slash(api_client, user, path):
    response = api_client.post(path, {"username": "op-token", "password": "pw"}, format="json")
    assert response.status_code == 200
    assert list(response.json()) == ["token"]
    token = ApiToken.objects.get(user=user)
    assert token.digest == token_digest(response.json()["token"])  # only its hash is stored
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/claims/").status_code == 200


def test_bad_credentials_are_a_400_json_error(api_client, user):
    response = api_client.post("/api/v1/auth/token", {"username": "op-token", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Identifiant ou mot de passe incorrect.",
        "code": "invalid_credentials",
        "errors": {},
    }
    response = api_client.post("/api/v1/auth/token", {"username": "op-token"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def test_inactive_user_gets_no_token(api_client):
    UserFactory(username="gone", is_active=False)
    assert (
        api_client.post("/api/v1/auth/token", {"username": "gone", "password": "pw"}, format="json").status_code == 400
    )


def test_token_endpoint_is_throttled(api_client, user, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    body = {"username": "op-token", "password": "pw"}
    codes = [api_client.post("/api/v1/auth/token", body, format="json").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_anonymous_call_is_a_401_json_with_the_token_scheme(api_client):
    response = api_client.get("/api/v1/claims")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


def test_a_wrong_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert api_client.get("/api/v1/claims").status_code == 401


def test_delete_revokes_the_token(api_client, user):
    key = api_client.post("/api/v1/auth/token", {"username": "op-token", "password": "pw"}, format="json").json()[
        "token"
    ]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.delete("/api/v1/auth/token").status_code == 204
    assert api_client.get("/api/v1/claims").status_code == 401


def test_session_auth_still_enforces_csrf(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/claims").status_code == 200
    response = client.post("/api/v1/claims", {"campaign": "x", "kind": "advance"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_repeated_bad_passwords_lock_the_api_login_with_a_json_429(api_client, user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    bad = {"username": "op-token", "password": "nope"}
    codes = [api_client.post("/api/v1/auth/token", bad, format="json").status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    response = api_client.post("/api/v1/auth/token", {"username": "op-token", "password": "pw"}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    assert int(response["Retry-After"]) > 0
