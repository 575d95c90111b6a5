"""The cache (Redis) goes away: limits guarding credentials fail closed with a 503 (JSON on the API),
the public simulator fails open with a logged warning, /readyz says so; all come back with the cache.

"Goes away" is played by a TCP proxy in front of Redis (database 14) that cuts every connection and
refuses new ones.
"""

import contextlib
import logging
import socket

import pytest
from django.core.cache import caches
from django.test import override_settings

from common.ratelimit import AddressRateThrottle
from tests.factories import UserFactory
from tests.fault.proxy import FlakyProxy

pytestmark = pytest.mark.django_db

REDIS = ("127.0.0.1", 6379)
SIMULATE = {"schedule": "segur-2023", "counts": {"APP": 1, "ORG": 2, "PER": 3}}


@contextlib.contextmanager
def logged(name):
    """The records logged by `name` inside the block (works with pytest's logging plugin off)."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def redis_up():
    try:
        socket.create_connection(REDIS, timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def cache_behind_proxy(monkeypatch):
    if not redis_up():
        pytest.skip("needs Redis on 127.0.0.1:6379")
    monkeypatch.setattr(
        AddressRateThrottle, "THROTTLE_RATES", {"simulate": "100/min", "token": "100/min", "invitation": "100/min"}
    )
    proxy = FlakyProxy(*REDIS)
    cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{proxy.port}/14",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    with override_settings(CACHES={"default": cache}, AXES_ENABLED=False):
        try:
            yield proxy
        finally:
            proxy.restore()
            caches["default"].clear()
            proxy.close()


def test_credentials_fail_closed_and_the_simulator_fails_open_when_the_cache_goes_away(
    cache_behind_proxy, api_client, client
):
    proxy = cache_behind_proxy
    UserFactory(username="alice", email="alice@example.fr")
    token = {"username": "alice", "password": "pw"}
    invitation = {"token": "nope", "username": "bob", "password": "Un-mot-de-passe-s0lide"}
    assert api_client.post("/api/v1/auth/token", token, format="json").status_code == 200
    assert client.get("/readyz").json()["cache"] == "up"

    proxy.cut()
    for path, body in (("/api/v1/auth/token", token), ("/api/v1/invitations/accept", invitation)):
        response = api_client.post(path, body, format="json")
        assert response.status_code == 503, path
        assert response.json()["code"] == "service_unavailable" and response["Retry-After"] == "30"
    login = client.post("/portail/connexion/", {"username": "alice", "password": "bad"})
    assert login.status_code == 503 and "Service indisponible" in login.content.decode()
    reset = client.post("/portail/mot-de-passe/oubli/", {"email": "alice@example.fr"})
    assert reset.status_code == 503
    with logged("common.ratelimit") as records:
        response = api_client.post("/api/v1/funding/simulate", SIMULATE, format="json")
    assert response.status_code == 200
    assert any(r.levelno == logging.WARNING and "not throttled" in r.getMessage() for r in records)
    readiness = client.get("/readyz")
    assert readiness.status_code == 503 and readiness.json()["cache"] == "down"

    proxy.restore()
    assert api_client.post("/api/v1/auth/token", token, format="json").status_code == 200
    assert client.get("/readyz").status_code == 200
