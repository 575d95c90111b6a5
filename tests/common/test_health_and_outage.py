import pytest
from django.db import OperationalError
from django.urls import path

import config.urls
from funding import selectors

pytestmark = pytest.mark.django_db


def test_liveness_and_readiness(client, settings):
    settings.CELERY_BROKER_URL = ""  # the broker check: tests/common/test_readiness_broker.py
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok", "database": "up", "cache": "up"}


def lost_database(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


def test_lost_database_is_a_503_json_on_the_api(client, monkeypatch):
    monkeypatch.setattr(selectors, "campaigns", lost_database)
    response = client.get("/api/v1/campaigns/segur-mss-2023/")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert response["Retry-After"] == "30"


def test_lost_database_is_a_french_503_page_elsewhere(client, monkeypatch, settings):
    def view(request):
        lost_database()

    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [path("boom", view), *config.urls.urlpatterns]})
    response = client.get("/boom")
    assert response.status_code == 503
    assert "Service indisponible" in response.content.decode()


def test_a_bad_query_is_not_mistaken_for_an_outage(client, monkeypatch):
    def bad_query(*args, **kwargs):
        raise OperationalError("no such column: nope")

    monkeypatch.setattr(selectors, "campaigns", bad_query)
    client.raise_request_exception = False
    assert client.get("/api/v1/campaigns/segur-mss-2023/").status_code == 500


@pytest.mark.parametrize("path", ["/api/v1/claims/abc", "/api/v1/nope/", "/api/v2/claims/"])
def test_unknown_api_paths_are_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Ressource introuvable.", "code": "not_found", "errors": {}}
