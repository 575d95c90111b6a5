"""The agents' screens for bank-details changes and fraud flags: decisions and clearing through the
services, warnings on the operator, enrolment and claim pages."""

import pytest
from django.urls import reverse

from demo.operators import demo_iban
from operators import selectors, services
from operators.enums import BankDetailsChangeState
from operators.models import BankDetailsChange, FraudFlag
from tests.factories import (
    GOOD,
    OperatorFactory,
    UserFactory,
    agent,
    claim_in_state,
    operator_user,
    pdf,
    proofs,
    validator,
)

pytestmark = pytest.mark.django_db

IBAN, SHARED = demo_iban("123456782"), demo_iban("555123454")


@pytest.fixture
def change():
    operator = OperatorFactory(legal_name="Alpha Santé", iban=IBAN, bic="AGRIFRPP")
    return services.bank_details_request(
        operator=operator, actor=operator_user(operator), iban=SHARED, bic="BNPAFRPP", proof=pdf("rib.pdf")
    )


@pytest.fixture
def flagged(change):
    """Alpha asks for an IBAN Beta is already paid on: both are flagged."""
    beta = OperatorFactory(legal_name="Beta Santé", iban=SHARED, bic="AGRIFRPP")
    services.fraud_signals_detect(ibans=[SHARED])
    return change.operator, beta


@pytest.mark.parametrize("decider", [agent, validator], ids=["instructeur", "valideur"])
def test_an_agent_sees_the_request_and_validates_it(client, change, decider):
    client.force_login(decider())
    changelist = client.get(reverse("admin:operators_bankdetailschange_changelist") + "?a_faire=decider")
    assert changelist.status_code == 200 and "Alpha Santé" in changelist.text
    page = client.get(reverse("admin:operators_bankdetailschange_change", args=[change.pk]))
    assert page.status_code == 200
    assert 'name="decision-validate"' in page.text and 'name="decision-refuse"' in page.text
    assert f"IBAN {IBAN}" in page.text  # the account paid until the decision
    response = client.post(reverse("admin:operators_bankdetailschange_decision", args=[change.pk, "validate"]))
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.state == BankDetailsChangeState.VALIDATED
    assert selectors.validated_bank_details(operator=change.operator)[0] == SHARED


def test_a_refusal_without_reason_is_refused_with_a_french_message(client, change):
    client.force_login(validator())
    url = reverse("admin:operators_bankdetailschange_decision", args=[change.pk, "refuse"])
    response = client.post(url, {"message": ""}, follow=True)
    assert services.REFUSAL_REASON_REQUIRED in response.text
    assert BankDetailsChange.objects.get(pk=change.pk).state == BankDetailsChangeState.PENDING
    client.post(url, {"message": "RIB illisible."})
    change.refresh_from_db()
    assert (change.state, change.decision_reason) == (BankDetailsChangeState.REFUSED, "RIB illisible.")


def test_an_agent_downloads_the_rib_as_an_attachment(client, change):
    client.force_login(agent())
    response = client.get(reverse("admin:operators_bankdetailsproof_download", args=[change.proof.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    b"".join(response.streaming_content)


def test_operators_users_never_reach_the_admin(client, change):
    client.force_login(operator_user(change.operator, username="alpha-2"))
    response = client.post(reverse("admin:operators_bankdetailschange_decision", args=[change.pk, "validate"]))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert BankDetailsChange.objects.get(pk=change.pk).state == BankDetailsChangeState.PENDING


def test_the_operator_admin_shows_bank_details_read_only(client, change):
    client.force_login(agent())
    page = client.get(reverse("admin:operators_operator_change", args=[change.operator.pk]))
    assert page.status_code == 200
    assert 'name="iban"' not in page.text
    assert f"Demande n° {change.pk} en attente de validation" in page.text


def test_flags_list_filters_by_kind_and_status(client, flagged):
    client.force_login(agent())
    url = reverse("admin:operators_fraudflag_changelist")
    assert client.get(url + "?statut=ouverts&kind__exact=shared_iban").text.count("⚠ ouvert") == 2
    assert client.get(url + "?statut=leves").text.count("⚠ ouvert") == 0
    assert client.get(url + "?kind__exact=reused_file").text.count("⚠ ouvert") == 0


def test_the_operator_and_claim_pages_warn_of_an_open_flag(client, flagged):
    alpha, _beta = flagged
    client.force_login(agent())
    page = client.get(reverse("admin:operators_operator_change", args=[alpha.pk]), follow=True)
    assert "signal(aux) de fraude ouvert(s)" in page.text
    assert "IBAN partagé entre plusieurs opérateurs" in page.text

    claim, _ = claim_in_state("submitted")
    FraudFlag.objects.create(
        operator=claim.operator, kind="reused_file", key="0" * 64, detail="Même RIB.", detected_at=claim.created_at
    )
    page = client.get(reverse("admin:claims_claim_change", args=[claim.pk]))
    assert "Paiements suspendus" in page.text and "Même RIB." in page.text


def test_the_enrolment_page_warns_of_an_open_flag(client):
    OperatorFactory(legal_name="Déjà payé ici", iban=GOOD["iban"].replace(" ", ""), bic="AGRIFRPP")
    user = services.account_create(username="rep", email="rep@example.fr", password="Un-mot-de-passe-s0lide")
    enrolment = services.enrolment_submit(user=user, documents=proofs(), **GOOD)
    client.force_login(agent())
    page = client.get(reverse("admin:operators_enrolment_change", args=[enrolment.pk]))
    assert "Paiements suspendus" in page.text and "Déjà payé ici" in page.text


def test_clearing_needs_a_reason_and_unblocks_the_operator(client, flagged):
    alpha, beta = flagged
    flag = selectors.open_fraud_flags(operator=alpha).get()
    client.force_login(validator())
    url = reverse("admin:operators_fraudflag_changelist")
    form = client.post(url, {"action": "clear_selected", "_selected_action": [flag.pk]})
    assert form.status_code == 200 and "Motif de la levée" in form.text
    client.post(url, {"action": "clear_selected", "_selected_action": [flag.pk], "apply": "1", "reason": ""})
    assert selectors.payment_blockers(operator=alpha) != []

    client.post(
        url, {"action": "clear_selected", "_selected_action": [flag.pk], "apply": "1", "reason": "Même groupe."}
    )
    flag.refresh_from_db()
    assert (flag.cleared_by.username, flag.clear_reason) == ("valideur1", "Même groupe.")
    assert selectors.payment_blockers(operator=alpha) == []
    assert selectors.payment_blockers(operator=beta) != []


def test_a_staff_account_without_an_agent_role_cannot_clear(client, flagged):
    alpha, _ = flagged
    flag = selectors.open_fraud_flags(operator=alpha).get()
    client.force_login(UserFactory(username="staff", is_staff=True))
    client.post(
        reverse("admin:operators_fraudflag_changelist"),
        {"action": "clear_selected", "_selected_action": [flag.pk], "apply": "1", "reason": "Moi."},
    )
    flag.refresh_from_db()
    assert flag.is_open
