"""Security properties an agency relies on: deploy checks, headers, CSRF, session and token expiry."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from operators.auth import token_digest
from operators.models import ApiToken
from tests.factories import OperatorFactory, UserFactory, operator_user

pytestmark = pytest.mark.django_db


@pytest.mark.process
def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "k" * 20 + "-production-secret-" + "z" * 30,
        "AUDIT_KEY": "a" * 20 + "-production-audit-key-" + "z" * 30,
        "ALLOWED_HOSTS": "financement.example.fr",
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.process
def test_production_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "x"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "SECRET_KEY est obligatoire" in result.stderr


@pytest.mark.parametrize("path", ["/portail/", "/portail/simulateur/", "/admin/login/", "/api/docs/"])
def test_pages_carry_csp_and_secure_headers(client, path):
    response = client.get(path, follow=True)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_api_docs_are_self_hosted_without_inline_script(client):
    html = client.get("/api/docs/").content.decode()
    assert "cdn" not in html.lower()
    assert "<script>" not in html  # every script has a src: CSP 'self' holds
    assert "/static/drf_spectacular_sidecar/" in html


def test_portal_forms_require_a_csrf_token():
    user = UserFactory(username="csrf-user")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/portail/connexion/", {"username": user.username, "password": "pw"})
    assert response.status_code == 403


def test_session_expires_server_side(client, settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    user = operator_user(OperatorFactory())
    client.force_login(user)
    assert client.get("/portail/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/portail/")
    assert response.status_code == 302 and "connexion" in response["Location"]


def test_api_token_expires_and_is_replaced(api_client, settings):
    user = operator_user(OperatorFactory())
    user.set_password("secret-pw-123")
    user.save()
    key = api_client.post(
        "/api/v1/auth/token", {"username": user.username, "password": "secret-pw-123"}, format="json"
    ).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/claims/").status_code == 200
    ApiToken.objects.filter(digest=token_digest(key)).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_client.get("/api/v1/claims/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"
    api_client.credentials()
    fresh = api_client.post(
        "/api/v1/auth/token", {"username": user.username, "password": "secret-pw-123"}, format="json"
    ).json()
    assert fresh["token"] != key


def test_uploaded_proofs_are_not_served_as_media(client, settings):
    assert settings.MEDIA_URL is None
    assert client.get("/media/proofs/1/x.pdf").status_code == 404
