"""One notion of the client's address (common.net.client_ip) for throttles, django-axes and the logs:
X-Forwarded-For counts only when the peer is a trusted proxy, so a client cannot dodge a limit by
sending a new address with each request."""

import pytest
from django.core import mail
from django.test import RequestFactory

from common.net import client_ip
from common.ratelimit import AddressRateThrottle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PEER = "203.0.113.7"
PROXY = "10.0.0.2"


def meta(remote, xff=None):
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    if xff is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = xff
    return request


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(meta(PEER, "1.2.3.4")) == PEER
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert client_ip(meta(PEER, "1.2.3.4")) == PEER  # the peer is not our proxy
    assert client_ip(meta(PROXY, "1.2.3.4")) == "1.2.3.4"
    # Read from the right: what the client wrote itself (the leftmost hops) is not believed.
    assert client_ip(meta(PROXY, "6.6.6.6, 1.2.3.4, 10.0.0.3")) == "1.2.3.4"
    assert client_ip(meta(PROXY, "garbage, 10.0.0.3")) == PROXY
    assert client_ip(meta(PROXY)) == PROXY
    assert client_ip(meta("2001:db8::1", "1.2.3.4")) == "2001:db8::1"


ANONYMOUS_LIMITS = [
    ("token", "/api/v1/auth/token", {"username": "nobody", "password": "x"}),
    ("simulate", "/api/v1/funding/simulate", {"schedule": "segur-2023", "counts": {"APP": 1, "ORG": 1, "PER": 1}}),
    ("invitation", "/api/v1/invitations/accept", {"token": "x", "username": "u", "password": "p"}),
]


@pytest.fixture
def tight_limits(monkeypatch, settings):
    settings.AXES_ENABLED = False
    monkeypatch.setattr(
        AddressRateThrottle, "THROTTLE_RATES", {"simulate": "2/min", "token": "2/min", "invitation": "2/min"}
    )


@pytest.mark.parametrize(("scope", "path", "body"), ANONYMOUS_LIMITS)
def test_a_new_forwarded_for_from_an_untrusted_peer_does_not_lift_a_limit(api_client, tight_limits, scope, path, body):
    statuses = [
        api_client.post(path, body, format="json", REMOTE_ADDR=PEER, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
        for i in range(5)
    ]
    assert statuses[:2] != [429, 429] and statuses[2:] == [429, 429, 429], statuses
    response = api_client.post(path, body, format="json", REMOTE_ADDR=PEER, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429 and response.json()["code"] == "throttled"


@pytest.mark.parametrize(("scope", "path", "body"), ANONYMOUS_LIMITS)
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    api_client, tight_limits, settings, scope, path, body
):
    settings.TRUSTED_PROXIES = [PROXY]
    for _ in range(2):
        api_client.post(path, body, format="json", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")
    limited = api_client.post(path, body, format="json", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert limited.status_code == 429
    other = api_client.post(path, body, format="json", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert other.status_code != 429


def test_axes_locks_the_peer_whatever_it_forwards(api_client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="victim")
    for i in range(3):
        api_client.post(
            "/api/v1/auth/token",
            {"username": "victim", "password": "bad"},
            format="json",
            REMOTE_ADDR=PEER,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        )
    response = api_client.post(
        "/api/v1/auth/token",
        {"username": "victim", "password": "pw"},
        format="json",
        REMOTE_ADDR=PEER,
        HTTP_X_FORWARDED_FOR="192.0.2.50",
    )
    assert response.status_code == 429 and response.json()["code"] == "locked_out"


def test_portal_logins_are_limited_per_address_whatever_the_user_names(client, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 5
    statuses = [
        client.post(
            "/portail/connexion/",
            {"username": f"name{i}", "password": "x"},
            REMOTE_ADDR=PEER,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(8)
    ]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
    assert (
        "Trop de tentatives"
        in client.post("/portail/connexion/", {"username": "x", "password": "y"}, REMOTE_ADDR=PEER).content.decode()
    )
    # Another address is not affected.
    UserFactory(username="someone")
    response = client.post("/portail/connexion/", {"username": "someone", "password": "pw"}, REMOTE_ADDR="192.0.2.1")
    assert response.status_code == 302


def test_password_reset_emails_are_limited_per_address_and_per_account_and_the_page_says_nothing(client, settings):
    settings.PASSWORD_RESET_PER_ADDRESS = 5
    settings.PASSWORD_RESET_PER_ACCOUNT = 3
    UserFactory(username="alice", email="alice@example.fr")
    answers = []
    for i in range(15):
        response = client.post(
            "/portail/mot-de-passe/oubli/",
            {"email": "alice@example.fr"},
            REMOTE_ADDR=f"192.0.2.{i}",  # a new address each time: the account's limit holds
        )
        answers.append((response.status_code, response["Location"]))
    assert len(mail.outbox) == 3
    assert len(set(answers)) == 1  # the same answer whether an e-mail left or not
    mail.outbox.clear()
    for i in range(15):
        response = client.post("/portail/mot-de-passe/oubli/", {"email": f"nobody{i}@example.fr"}, REMOTE_ADDR=PEER)
        answers.append((response.status_code, response["Location"]))
    UserFactory(username="bob", email="bob@example.fr")
    client.post("/portail/mot-de-passe/oubli/", {"email": "bob@example.fr"}, REMOTE_ADDR=PEER)
    assert mail.outbox == []  # this address used up its five
    assert len(set(answers)) == 1
