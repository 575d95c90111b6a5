"""The agents' enrolment screens: decisions through the services, proofs downloaded through an authorised view."""

import pytest
from django.urls import reverse

from operators import services
from operators.enums import EnrolmentState
from operators.models import Enrolment
from tests.factories import GOOD, PDF, agent, proofs

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolment():
    user = services.account_create(username="rep", email="rep@example.fr", password="Un-mot-de-passe-s0lide")
    return services.enrolment_submit(user=user, documents=proofs(), **GOOD)


def test_instructor_sees_decision_buttons_and_validates(client, enrolment):
    client.force_login(agent())
    page = client.get(reverse("admin:operators_enrolment_change", args=[enrolment.pk]))
    assert page.status_code == 200
    assert 'name="decision-validate"' in page.text and 'name="decision-request_changes"' in page.text
    response = client.post(reverse("admin:operators_enrolment_decision", args=[enrolment.pk, "validate"]))
    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.state == EnrolmentState.VALIDATED
    assert enrolment.operator.siren == "732829320"


def test_change_request_without_message_is_refused_with_a_french_message(client, enrolment):
    client.force_login(agent())
    url = reverse("admin:operators_enrolment_decision", args=[enrolment.pk, "request_changes"])
    response = client.post(url, {"message": ""}, follow=True)
    assert "Un commentaire motivé est obligatoire" in response.text
    enrolment.refresh_from_db()
    assert enrolment.state == EnrolmentState.PENDING
    client.post(url, {"message": "Pièce d'identité expirée."})
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.agent_message) == (EnrolmentState.CHANGES_REQUESTED, "Pièce d'identité expirée.")


def test_validator_cannot_decide(client, enrolment):
    client.force_login(agent("valideur1", group="valideur"))
    client.post(reverse("admin:operators_enrolment_decision", args=[enrolment.pk, "reject"]), {"message": "Non."})
    assert Enrolment.objects.get(pk=enrolment.pk).state == EnrolmentState.PENDING


def test_agent_downloads_a_proof_as_an_attachment(client, enrolment):
    client.force_login(agent())
    document = enrolment.documents.first()
    response = client.get(reverse("admin:operators_enrolmentdocument_download", args=[document.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_bulk_validation_action(client, enrolment):
    client.force_login(agent())
    client.post(
        reverse("admin:operators_enrolment_changelist"),
        {"action": "validate_selected", "_selected_action": [enrolment.pk]},
    )
    assert Enrolment.objects.get(pk=enrolment.pk).state == EnrolmentState.VALIDATED
