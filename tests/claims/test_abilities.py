"""One abilities function per claim (claims.services.claim_abilities), asked by the API, the admin and the
portal — including the two actions that are not transitions: extending the filing deadline and opening a
recovery case (indu)."""

import pytest
from django.urls import reverse

from claims import recoveries, services
from claims.api.serializers import ABILITIES_SCHEMA
from tests.factories import agent, claim_in_state, validator

pytestmark = pytest.mark.django_db


def abilities(user, claim):
    return services.claim_abilities(user=user, claim=claim)


def test_every_ability_is_answered_for_every_user():
    claim, user = claim_in_state("draft")
    for who in (user, agent("instructeur2"), validator("valideur2"), None):
        assert list(services.claim_abilities(user=who, claim=claim)) == list(services.CLAIM_ABILITIES)


def test_a_validator_extends_the_deadline_of_a_live_claim_only():
    claim, user = claim_in_state("draft")
    boss = validator("valideur2")
    assert abilities(boss, claim)["extend_deadline"]
    assert not abilities(agent("instructeur2"), claim)["extend_deadline"]
    assert not abilities(user, claim)["extend_deadline"]
    withdrawn = services.claim_withdraw(claim=claim, actor=user)
    assert not abilities(boss, withdrawn)["extend_deadline"]


def test_an_instructor_opens_a_recovery_once_the_operator_was_paid():
    claim, user = claim_in_state("approved")
    instructor = agent("instructeur2")
    assert not abilities(instructor, claim)["open_recovery"]  # nothing paid: nothing to claim back
    paid = services.claim_mark_paid(claim=claim, actor=validator("valideur2"), reference="VIR-9")
    assert abilities(instructor, paid)["open_recovery"]
    assert not abilities(validator("valideur3"), paid)["open_recovery"]
    assert not abilities(user, paid)["open_recovery"]


def test_the_api_shows_the_same_abilities(client):
    """The API serves operators (agents use the admin): their abilities, every key documented."""
    claim, user = claim_in_state("paid")
    client.force_login(user)
    body = client.get(f"/api/v1/claims/{claim.pk}").json()
    assert body["abilities"] == abilities(user, claim)
    assert body["abilities"]["extend_deadline"] is False and body["abilities"]["open_recovery"] is False
    assert ABILITIES_SCHEMA["required"] == list(services.CLAIM_ABILITIES)  # all documented


def test_the_admin_offers_the_extension_and_the_recovery_forms_by_the_abilities(client):
    claim, _ = claim_in_state("paid")
    page = reverse("admin:claims_claim_change", args=[claim.pk])
    client.force_login(validator("valideur2"))
    html = client.get(page).content.decode()
    assert 'id="new-deadline"' in html and 'id="recovery-amount"' not in html
    client.force_login(agent("instructeur2"))
    html = client.get(page).content.decode()
    assert 'id="recovery-amount"' in html and 'id="new-deadline"' not in html


def test_the_admin_offers_no_extension_on_a_withdrawn_claim(client):
    claim, _ = claim_in_state("withdrawn")
    client.force_login(validator("valideur2"))
    html = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert 'id="new-deadline"' not in html


def test_the_portal_asks_the_same_abilities(client):
    claim, user = claim_in_state("paid")
    client.force_login(user)
    response = client.get(reverse("portal:claim", args=[claim.pk]))
    assert response.status_code == 200
    assert response.context["abilities"] == abilities(user, claim)
    assert not response.context["abilities"]["extend_deadline"]
    assert not response.context["abilities"]["open_recovery"]


def test_a_recovery_cases_steps_come_from_its_table_with_the_reason_a_step_waits(client):
    claim, user = claim_in_state("paid")
    instructor = agent("instructeur2")
    case = recoveries.recovery_open(claim=claim, amount="100.00", grounds="Trop-perçu.", actor=instructor)
    steps = recoveries.recovery_abilities(user=instructor, recovery=case)
    assert [name for name, ok in steps.items() if ok] == ["observations"]  # the decision waits for the period
    assert recoveries.recovery_abilities(user=user, recovery=case)["observations"]  # the operator answers
    assert [n for n, ok in recoveries.recovery_abilities(user=validator("valideur2"), recovery=case).items() if ok] == [
        "cancel"
    ]
    client.force_login(instructor)
    html = client.get(reverse("admin:claims_recovery_change", args=[case.pk])).content.decode()
    assert "Rendre la décision motivée" in html and "la décision ne peut être prise avant" in html
