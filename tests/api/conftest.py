import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from claims import recoveries
from claims.models import Claim
from operators import services, webhooks
from tests.factories import (
    GOOD,
    ContractFactory,
    OperatorFactory,
    agent,
    api_key_for,
    claim_in_state,
    operator_user,
    proofs,
    ready_advance,
    segur_campaign,
    token_client,
)

PASSWORD = "Un-mot-de-passe-s0lide"


@pytest.fixture
def owner():
    """A draft advance ready to submit, and an API client of its operator's user."""
    claim, user = ready_advance()
    return claim, token_client(user)


@pytest.fixture
def stranger():
    """An API client of another operator's user."""
    return token_client(operator_user(OperatorFactory(eligible=True), username="op-b"))


@pytest.fixture
def agent_client():
    return token_client(agent())


def enrolled(username, siren, referencing_number):
    """A validated representative (the operator's manager) and its operator, eligible for claims."""
    user = services.account_create(username=username, email=f"{username}@example.fr", password=PASSWORD)
    enrolment = services.enrolment_submit(
        user=user, documents=proofs(), **{**GOOD, "siren": siren, "siret": "", "referencing_number": referencing_number}
    )
    enrolment = services.enrolment_validate(enrolment=enrolment, actor=agent())
    ContractFactory(operator=enrolment.operator)
    user.refresh_from_db()
    return user, enrolment


def make_world():
    """Two enrolled operators and everything operator A owns, one of each kind of object the API serves;
    returns the objects' ids and the API keys of the users who call the API."""
    campaign = segur_campaign()
    segur_campaign("second-campaign")  # where a new advance may be opened
    manager_a, enrolment_a = enrolled("manager-a", "732829320", "REF-A")
    manager_b, _ = enrolled("manager-b", "552100554", "REF-B")
    claim, _ = ready_advance(operator=enrolment_a.operator, user=manager_a, campaign=campaign)
    document = claim.documents.get()
    webhook, _ = services.webhook_create(operator=claim.operator, url="https://hooks.example.fr/a", actor=manager_a)
    services.webhook_deliveries_enqueue(
        operator_id=claim.operator_id, event_key="claim-event:test", event_type="claim.state_changed", payload={}
    )
    invitation = services.invitation_create(operator=claim.operator, email="colleague@example.fr", actor=manager_a)
    # A representative whose enrolment waits for corrections (no operator yet).
    rep = services.account_create(username="rep", email="rep@example.fr", password=PASSWORD)
    pending = services.enrolment_submit(
        user=rep, documents=proofs(), **{**GOOD, "siren": "542051180", "siret": "", "referencing_number": "REF-R"}
    )
    pending = services.enrolment_request_changes(enrolment=pending, actor=agent(), message="RIB ?")
    fresh = services.account_create(username="fresh", email="fresh@example.fr", password=PASSWORD)
    # A paid advance of operator A in a third campaign, with an undue-payment case notified on it.
    paid_claim, _ = claim_in_state(
        "paid", operator=enrolment_a.operator, user=manager_a, campaign=segur_campaign("third-campaign")
    )
    recovery = recoveries.recovery_open(claim=paid_claim, amount=10, grounds="Solde non déposé.", actor=agent())
    return {
        "ids": {
            "claim": claim.pk,
            "doc": document.pk,
            "webhook": webhook.pk,
            "invitation": invitation.pk,
            "enrolment": enrolment_a.pk,
            "enrolment_doc": enrolment_a.documents.first().pk,
            "pending": pending.pk,
            "pending_doc": pending.documents.first().pk,
            "paid_claim": paid_claim.pk,
            "recovery": recovery.pk,
            "manager_b": manager_b.pk,
        },
        "keys": {
            "manager": api_key_for(manager_a),
            "other": api_key_for(manager_b),
            "rep": api_key_for(rep),
            "fresh": api_key_for(fresh),
            "agent": api_key_for(agent()),
        },
    }


@pytest.fixture(scope="module")
def built_world(module_db):
    """The world, built once per module (module_db): the tests only read it, or write inside their own
    transaction."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(webhooks, "post", lambda *a, **k: 200)
        return module_db.build(make_world)


@pytest.fixture
def world(built_world, module_media, monkeypatch):
    """The built world as the test sees it: fresh clients and model instances of its own."""
    monkeypatch.setattr(webhooks, "post", lambda *a, **k: 200)
    ids = dict(built_world["ids"])
    clients = {"anonymous": APIClient()}
    for name, key in built_world["keys"].items():
        clients[name] = APIClient()
        clients[name].credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return {
        "ids": ids,
        "clients": clients,
        "manager_b": User.objects.get(pk=ids["manager_b"]),
        "claim": Claim.objects.get(pk=ids["claim"]),
    }
