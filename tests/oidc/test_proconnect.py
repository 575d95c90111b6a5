"""ProConnect sign-in, end to end against a real OIDC provider (tests/oidc/provider.mjs): the Django test
client starts the flow, the provider's automatic interactions sign the account in, and the callback
exchanges the code, verifies the ID token and decodes the signed userinfo over real HTTP."""

from datetime import timedelta

import mozilla_django_oidc.auth
import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.utils import timezone

from operators import proconnect as proconnect_module
from operators.models import Invitation, Membership
from operators.services import proconnect as service
from tests.factories import OperatorFactory, UserFactory, agent, operator_user
from tests.oidc.support import through_provider

pytestmark = [pytest.mark.oidc, pytest.mark.django_db]

User = get_user_model()


def identity(email, siret="", acr="eidas1", **claims):
    claims = {"given_name": "Camille", "usual_name": "Durand", "uid": "42", **claims}
    return {"email": email, "siret": siret, "acr": acr, **claims}


def message_texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def signed_in_user(client):
    return client.get("/portail/").wsgi_request.user


def invite(operator, email, *, days=7):
    inviter = UserFactory()
    return Invitation.objects.create(
        operator=operator,
        email=email,
        token_hash=f"hash-{email}",
        invited_by=inviter,
        expires_at=timezone.now() + timedelta(days=days),
    )


def test_operator_member_signs_in_with_the_siret_of_their_operator(client, proconnect, monkeypatch):
    operator = OperatorFactory()
    user = operator_user(operator)
    seen = []
    real_get = mozilla_django_oidc.auth.requests.get

    def spy(url, *args, **kwargs):
        answer = real_get(url, *args, **kwargs)
        seen.append(answer.headers.get("content-type", ""))
        return answer

    monkeypatch.setattr(mozilla_django_oidc.auth.requests, "get", spy)
    proconnect.next_login(**identity(user.email, siret=operator.siren + "00012"))

    response = through_provider(client, "/proconnect/connexion/")

    assert response.status_code == 302 and response["Location"] == "/portail/"
    assert signed_in_user(client) == user
    # The userinfo came back as a signed JWT (ProConnect's form), and the library verified it.
    assert any(kind.startswith("application/jwt") for kind in seen)


def test_invited_colleague_gets_an_account_and_joins_the_operator_of_the_siret(client, proconnect):
    operator = OperatorFactory()
    invitation = invite(operator, "new.colleague@example.fr")
    proconnect.next_login(**identity("New.Colleague@example.fr", siret=operator.siren + "00012"))

    response = through_provider(client, "/proconnect/connexion/")

    assert response.status_code == 302 and response["Location"] == "/portail/"
    user = User.objects.get(email="new.colleague@example.fr")
    assert (user.first_name, user.last_name, user.has_usable_password()) == ("Camille", "Durand", False)
    assert Membership.objects.get(user=user).operator == operator
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.accepted_by == user
    assert signed_in_user(client) == user


def test_unknown_email_without_invitation_is_refused_and_nothing_is_created(client, proconnect):
    operator = OperatorFactory()
    proconnect.next_login(**identity("stranger@example.fr", siret=operator.siren + "00012"))

    response = through_provider(client, "/proconnect/connexion/")

    assert response.status_code == 302 and response["Location"] == "/portail/connexion/"
    assert message_texts(response) == [service.NO_ACCOUNT]
    assert not User.objects.filter(email="stranger@example.fr").exists()
    assert not signed_in_user(client).is_authenticated


def test_invitation_to_another_operator_than_the_siret_attaches_nothing(client, proconnect):
    invited_to, other = OperatorFactory(), OperatorFactory()
    invitation = invite(invited_to, "someone@example.fr")
    proconnect.next_login(**identity("someone@example.fr", siret=other.siren + "00012"))

    response = through_provider(client, "/proconnect/connexion/")

    assert message_texts(response) == [service.NO_ACCOUNT]
    assert not User.objects.filter(email="someone@example.fr").exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_expired_invitation_attaches_nothing(client, proconnect):
    operator = OperatorFactory()
    invite(operator, "late@example.fr", days=-1)
    proconnect.next_login(**identity("late@example.fr", siret=operator.siren + "00012"))

    response = through_provider(client, "/proconnect/connexion/")

    assert message_texts(response) == [service.NO_ACCOUNT]
    assert not Membership.objects.exists()


def test_member_signing_in_with_another_operators_siret_is_refused(client, proconnect):
    operator, other = OperatorFactory(), OperatorFactory()
    user = operator_user(operator)
    proconnect.next_login(**identity(user.email, siret=other.siren + "00012"))

    response = through_provider(client, "/proconnect/connexion/")

    assert message_texts(response) == [service.OTHER_OPERATOR]
    assert not signed_in_user(client).is_authenticated


def test_account_without_operator_signs_in_and_is_not_attached(client, proconnect):
    user = UserFactory(email="representative@example.fr")
    operator = OperatorFactory()
    proconnect.next_login(**identity("representative@example.fr", siret=operator.siren + "00012"))

    response = through_provider(client, "/proconnect/connexion/")

    assert response["Location"] == "/portail/"
    assert signed_in_user(client) == user
    assert not Membership.objects.filter(user=user).exists()


def test_agent_with_mfa_signs_in_to_the_admin(client, proconnect):
    instructor = agent()
    proconnect.next_login(**identity(instructor.email, acr="eidas2"))

    response = through_provider(client, "/proconnect/connexion-agent/")

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("start", "login_page"),
    [("/proconnect/connexion-agent/", "/admin/login/"), ("/proconnect/connexion/", "/portail/connexion/")],
)
def test_agent_without_mfa_is_refused_wherever_they_start(client, proconnect, start, login_page):
    instructor = agent()
    proconnect.next_login(**identity(instructor.email, acr="eidas1"))

    response = through_provider(client, start)

    assert response["Location"] == login_page
    assert message_texts(response) == [service.MFA_REQUIRED]
    assert client.get("/admin/").status_code == 302


def test_admin_entry_asks_the_provider_for_an_mfa_acr(client, proconnect):
    response = client.get("/proconnect/connexion-agent/?next=/admin/claims/")

    location = response["Location"]
    assert location.startswith(proconnect.issuer)
    assert "eidas2" in location and "essential" in location
    assert client.session["oidc_login_next"] == "/admin/claims/"


def test_callback_with_a_forged_state_is_refused(client, proconnect):
    client.get("/proconnect/connexion/")

    response = client.get("/proconnect/retour/?code=abc&state=forged")

    assert response.status_code == 400
    assert not signed_in_user(client).is_authenticated


def test_provider_down_sends_back_to_the_login_page_with_a_french_message(client, settings):
    settings.PROCONNECT_ISSUER = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.PROCONNECT_CLIENT_ID = "x"

    response = client.get("/proconnect/connexion/")

    assert response.status_code == 302 and response["Location"] == "/portail/connexion/"
    assert message_texts(response) == [proconnect_module.UNAVAILABLE]


def test_proconnect_off_by_default(client):
    assert client.get("/proconnect/connexion/").status_code == 404
    assert "ProConnect" not in client.get("/portail/connexion/").content.decode()


def test_login_pages_show_the_proconnect_button_when_configured(client, settings):
    settings.PROCONNECT_ISSUER = "http://127.0.0.1:9"

    assert "/proconnect/connexion/" in client.get("/portail/connexion/").content.decode()
    assert "/proconnect/connexion-agent/" in client.get("/admin/login/").content.decode()


def test_agent_password_login_can_be_switched_off(client, settings):
    agent("instructor-pw")
    member = operator_user(OperatorFactory(), username="member-pw")
    settings.AGENT_PASSWORD_LOGIN = False

    refused = client.post("/admin/login/", {"username": "instructor-pw", "password": "pw"})
    assert refused.status_code == 200 and not refused.wsgi_request.user.is_authenticated

    accepted = client.post("/portail/connexion/", {"username": "member-pw", "password": "pw"})
    assert accepted.status_code == 302 and accepted.wsgi_request.user == member


def test_agent_password_login_stays_on_by_default(client):
    agent("instructor-pw")

    response = client.post("/admin/login/", {"username": "instructor-pw", "password": "pw"})

    assert response.status_code == 302


def test_identity_whose_email_claim_is_not_text_is_refused_with_a_message():
    UserFactory(email="alice@omega.example")
    with pytest.raises(service.ProConnectRefused) as refused:
        service.proconnect_account(claims={"email": ["alice@omega.example"]}, acr=None)
    assert refused.value.message == service.NO_ACCOUNT
