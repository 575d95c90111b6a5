"""Portal « Jetons d'API »: list (name, creation, last use, expiry), create with a name (key shown
once), revoke; another user's token is a 404; agents have none."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from operators.auth import token_digest
from operators.models import ApiToken
from tests.factories import api_key_for
from tests.portal.utils import text

pytestmark = pytest.mark.django_db

URL = "/portail/jetons/"


def test_the_page_lists_the_users_tokens_only(client, alpha, beta):
    api_key_for(alpha.user, "ERP comptable")
    api_key_for(beta.user, "Système de Beta")
    client.force_login(alpha.user)
    page = text(client.get(URL))
    assert "ERP comptable" in page and "Système de Beta" not in page
    assert "jamais" in page  # never used yet
    assert "Jetons d'API" in page


def test_a_created_token_is_shown_once_and_works_on_the_api(client, alpha):
    client.force_login(alpha.user)
    response = client.post(URL, {"name": "GED"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = re.search(r'<code id="nouveau-jeton">([0-9a-f]{40})</code>', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=alpha.user)
    assert (token.name, token.digest) == ("GED", token_digest(key))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/operator").status_code == 200
    assert key not in client.get(URL).content.decode()  # never shown again


def test_a_token_needs_a_name(client, alpha):
    client.force_login(alpha.user)
    assert client.post(URL, {"name": "  "}).status_code == 400
    assert not ApiToken.objects.exists()


def test_the_owner_revokes_a_token(client, alpha):
    key = api_key_for(alpha.user, "ERP")
    token = ApiToken.objects.get(user=alpha.user)
    client.force_login(alpha.user)
    response = client.post(reverse("portal:api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/operator").status_code == 401


def test_another_users_token_is_a_404_and_stays(client, alpha, beta):
    api_key_for(beta.user, "Système de Beta")
    token = ApiToken.objects.get(user=beta.user)
    client.force_login(alpha.user)
    assert client.post(reverse("portal:api_token_revoke", args=[token.pk])).status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client, alpha):
    api_key_for(alpha.user)
    token = ApiToken.objects.get()
    for response in (client.get(URL), client.post(reverse("portal:api_token_revoke", args=[token.pk]))):
        assert response.status_code == 302 and "connexion" in response["Location"]
    assert ApiToken.objects.exists()


def test_agents_have_no_token_page(client, instructor):
    client.force_login(instructor)
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"name": "x"}).status_code == 404
    assert not ApiToken.objects.exists()


def test_revoking_needs_a_post_with_csrf(alpha):
    api_key_for(alpha.user)
    token = ApiToken.objects.get()
    client = Client(enforce_csrf_checks=True)
    client.force_login(alpha.user)
    assert client.get(reverse("portal:api_token_revoke", args=[token.pk])).status_code == 405
    assert client.post(reverse("portal:api_token_revoke", args=[token.pk])).status_code == 403
    assert ApiToken.objects.exists()
