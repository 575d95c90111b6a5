"""Production error pages (DEBUG=0): French, in the portal's DSFR layout outside /admin/ and /api/,
in the admin's look under /admin/, JSON on the API (unchanged)."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from common.errors import CSRF, ERRORS, error_response
from portal.pages import PAGES
from tests.factories import OperatorFactory, agent, claim_in_state, operator_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.common.error_urls")]

ENGLISH = ("Not Found", "Forbidden", "Server Error", "Bad Request", "DEBUG", "CSRF verification failed")


def assert_portal_page(response, status):
    html = response.content.decode()
    assert response.status_code == status
    assert '<html lang="fr"' in html and 'id="page-erreur"' in html
    assert "fr-header" in html and "fr-footer" in html  # the DSFR layout
    assert f"Erreur {status}" in html
    assert reverse("portal:dashboard") in html and reverse("portal:help") in html
    assert not any(word in html for word in ENGLISH), html
    return html


@override_settings(DEBUG=False)
def test_an_unknown_portal_page_is_a_french_404(client):
    html = assert_portal_page(client.get("/portail/nulle-part/"), 404)
    assert "Page non trouvée — Financement Ségur MSSanté</title>" in html


@override_settings(DEBUG=False)
def test_another_operators_claim_is_the_french_404_with_the_user_signed_in(client):
    claim, _ = claim_in_state("submitted")
    other = operator_user(OperatorFactory(eligible=True), "autre-op")
    client.force_login(other)
    html = assert_portal_page(client.get(reverse("portal:claim", args=[claim.pk])), 404)
    assert "autre-op" in html  # the header still knows who is signed in


@override_settings(DEBUG=False)
def test_403_400_and_500_outside_the_api_are_french_pages():
    client = Client(raise_request_exception=False)
    assert "Accès refusé" in assert_portal_page(client.get("/interdit/"), 403)
    assert "Requête incorrecte" in assert_portal_page(client.get("/suspect/"), 400)
    assert "Erreur inattendue" in assert_portal_page(client.get("/boom/"), 500)


@override_settings(DEBUG=False)
def test_a_csrf_failure_is_a_french_page_that_says_what_to_do():
    client = Client(enforce_csrf_checks=True)
    html = assert_portal_page(client.post(reverse("portal:login"), {"username": "x", "password": "y"}), 403)
    assert CSRF.title in html and "Rechargez la page" in html


@override_settings(DEBUG=False)
def test_the_429_page(rf):
    request = rf.get("/portail/")
    response = error_response(request, 429)
    assert response.status_code == 429
    assert ERRORS[429].title in response.content.decode()


@override_settings(DEBUG=False)
def test_admin_errors_are_french_pages_in_the_admins_look(client):
    client.force_login(agent("instructrice-erreurs"))
    for url, status in (("/admin/claims/claim/999999/change/", 302), ("/admin/nulle-part/", 404)):
        response = client.get(url)
        assert response.status_code == status, url
    response = client.get("/admin/nulle-part/")
    html = response.content.decode()
    assert 'id="page-erreur"' in html and "Page non trouvée" in html and 'id="site-name"' in html
    assert "fr-header" not in html and not any(word in html for word in ENGLISH)
    assert "Accès refusé" in client.get("/admin/interdit/").content.decode()
    broken = Client(raise_request_exception=False)
    response = broken.get("/admin/boom/")
    assert response.status_code == 500 and "Erreur inattendue" in response.content.decode()
    assert 'id="site-name"' in response.content.decode()


@override_settings(DEBUG=False)
def test_the_api_keeps_its_json_errors():
    client = Client(raise_request_exception=False)
    assert client.get("/api/v1/nulle-part/").json()["code"] == "not_found"
    assert client.get("/api/v1/boom/").json()["code"] == "server_error"
    csrf = Client(enforce_csrf_checks=True)
    user = operator_user(OperatorFactory(eligible=True), "api-csrf")
    csrf.force_login(user)
    response = csrf.post("/api/v1/operator/invitations", {"email": "a@b.fr"})
    assert response.status_code == 403 and response["Content-Type"].startswith("application/json")


def test_every_information_page_is_public_and_linked_from_the_footer(client, settings):
    settings.LEGAL = {**settings.LEGAL, "publisher": "Agence Test", "dpo_email": "dpo@test.fr"}
    footer = client.get(reverse("portal:simulator")).content.decode()
    for name in PAGES:
        url = reverse(f"portal:{name}")
        assert url in footer, name
        response = client.get(url)
        assert response.status_code == 200, name
    personal = client.get(reverse("portal:personal_data")).content.decode()
    for words in ("Responsable du traitement", "Finalités", "Base légale", "Durée de conservation", "Vos droits"):
        assert words in personal
    assert "Agence Test" in personal and "dpo@test.fr" in personal
    statement = client.get(reverse("portal:accessibility")).content.decode()
    assert "partiellement conforme" in statement and "Pages vérifiées" in statement
    assert "Accessibilité : partiellement conforme" in footer


def test_sign_up_shows_the_personal_data_notice_and_personal_fields_say_what_they_hold(client):
    html = client.get(reverse("portal:signup")).content.decode()
    assert 'id="mention-donnees"' in html and reverse("portal:personal_data") in html
    assert 'autocomplete="given-name"' in html and 'autocomplete="family-name"' in html
    assert 'type="email"' in html and 'autocomplete="email"' in html
    assert 'href="#contenu"' in html  # the skip link
