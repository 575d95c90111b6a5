"""Signing out of a session opened through ProConnect ends it at ProConnect too (RP-initiated logout:
end_session_endpoint with id_token_hint, state and post_logout_redirect_uri), against the real provider of
tests/oidc/provider.mjs; a session opened with a password signs out as before."""

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest
import requests
from django.contrib.messages import get_messages

from operators import proconnect as proconnect_module
from operators.services import proconnect as service
from tests.factories import OperatorFactory, agent, operator_user
from tests.oidc.support import LOGOUT_CALLBACK, through_provider

pytestmark = pytest.mark.django_db


def identity(email, siret="", acr="eidas1"):
    return {"email": email, "siret": siret, "acr": acr, "given_name": "Camille", "usual_name": "Durand", "uid": "42"}


def message_texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def signed_in_user(client):
    return client.get("/portail/").wsgi_request.user


def confirm_at_provider(browser, url):
    """What the user's browser does at ProConnect's sign-out page: submits its form. Returns where the
    provider sends the browser next."""
    page = browser.get(url, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text[:500]
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text).group(1)
    answer = browser.post(urljoin(url, action), data={"xsrf": xsrf, "logout": "yes"}, allow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), answer.text[:500]
    return answer.headers["Location"]


@pytest.fixture
def browser():
    with requests.Session() as session:
        yield session


def test_portal_sign_out_ends_the_proconnect_session_too(client, proconnect, browser):
    operator = OperatorFactory()
    user = operator_user(operator)
    proconnect.next_login(**identity(user.email, siret=operator.siren + "00012"))
    assert through_provider(client, "/proconnect/connexion/", browser)["Location"] == "/portail/"
    id_token = client.session["oidc_id_token"]
    subject = jwt.decode(id_token, options={"verify_signature": False})["sub"]

    response = client.post("/portail/deconnexion/")

    # Signed out here at once, then sent to ProConnect's end_session_endpoint.
    assert not signed_in_user(client).is_authenticated
    location = urlsplit(response["Location"])
    assert response.status_code == 302
    assert f"{location.scheme}://{location.netloc}" == proconnect.issuer
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert query["id_token_hint"] == id_token
    assert query["post_logout_redirect_uri"] == LOGOUT_CALLBACK
    assert len(query["state"]) >= 32

    back = confirm_at_provider(browser, response["Location"])

    # The provider ended its session for that account and came back with our state.
    assert {"accountId": subject, "clientId": "segur-test-client"} in proconnect.logouts()
    assert back.startswith(LOGOUT_CALLBACK)
    assert parse_qs(urlsplit(back).query)["state"] == [query["state"]]
    landing = client.get(back.removeprefix("http://testserver"))
    assert landing.status_code == 302 and landing["Location"] == "/portail/connexion/"
    assert message_texts(landing) == [proconnect_module.SIGNED_OUT]


def test_agent_signing_out_of_the_admin_comes_back_to_the_admin_login(client, proconnect, browser):
    instructor = agent()
    proconnect.next_login(**identity(instructor.email, acr="eidas2"))
    assert through_provider(client, "/proconnect/connexion-agent/", browser)["Location"] == "/admin/"

    response = client.post("/admin/logout/")

    assert response["Location"].startswith(proconnect.issuer)
    assert client.get("/admin/").status_code == 302  # signed out here already
    back = confirm_at_provider(browser, response["Location"])
    landing = client.get(back.removeprefix("http://testserver"))
    assert landing["Location"] == "/admin/login/"
    assert message_texts(landing) == [proconnect_module.SIGNED_OUT]


def test_password_sessions_sign_out_as_before_when_proconnect_is_on(client, proconnect):
    member = operator_user(OperatorFactory(), username="member-pw")
    client.force_login(member)
    portal = client.post("/portail/deconnexion/")
    assert portal.status_code == 302 and portal["Location"] == "/portail/connexion/"
    assert not signed_in_user(client).is_authenticated

    client.force_login(agent("instructor-pw"))
    admin = client.post("/admin/logout/")
    assert admin.status_code == 302 and admin["Location"] == "/portail/connexion/"  # Django's LOGOUT_REDIRECT_URL
    assert client.get("/admin/").status_code == 302


def test_sign_out_when_proconnect_does_not_answer_still_signs_out_here(client, proconnect, settings, browser):
    operator = OperatorFactory()
    user = operator_user(operator)
    proconnect.next_login(**identity(user.email, siret=operator.siren + "00012"))
    through_provider(client, "/proconnect/connexion/", browser)
    settings.PROCONNECT_ISSUER = "http://127.0.0.1:9"  # discard port: nothing listens

    response = client.post("/portail/deconnexion/")

    assert response["Location"] == "/portail/connexion/"
    assert message_texts(response) == [proconnect_module.SIGNED_OUT_HERE_ONLY]
    assert not signed_in_user(client).is_authenticated


def test_a_refused_sign_in_keeps_no_id_token_in_the_session(client, proconnect):
    instructor = agent()
    proconnect.next_login(**identity(instructor.email, acr="eidas1"))

    response = through_provider(client, "/proconnect/connexion-agent/")

    assert message_texts(response) == [service.MFA_REQUIRED]
    assert "oidc_id_token" not in client.session


def test_a_return_with_a_forged_state_only_lands_on_the_login_page(client, proconnect):
    response = client.get("/proconnect/deconnexion/?state=forged")

    assert response.status_code == 302 and response["Location"] == "/portail/connexion/"
    assert message_texts(response) == []
