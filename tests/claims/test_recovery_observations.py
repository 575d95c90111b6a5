"""Recoveries the operator can answer: the notice on its dashboard and claim page, observations with
attachments from the portal or the API (one service) until the deadline, then the decision, the order
and the state; every step in the claim's history and e-mailed."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from claims import emails, recoveries, services
from claims.audit import claim_audit_problem
from claims.enums import DocumentKind, RecoveryState
from claims.models import Document, Recovery
from common.exceptions import InvalidInput, StateConflict
from common.formatting import euros
from funding.calendar import end_of_day, paris_today
from tests.factories import (
    PDF,
    PNG,
    OperatorFactory,
    agent,
    claim_in_state,
    operator_user,
    pdf,
    token_client,
    validator,
)
from tests.portal.utils import text

pytestmark = pytest.mark.django_db

GROUNDS = "Parc client non conforme à la date de clôture."


@pytest.fixture
def notified(django_capture_on_commit_callbacks):
    """A paid advance and a recovery case notified on it (e-mails sent), with the operator's user."""
    claim, user = claim_in_state("paid")
    with django_capture_on_commit_callbacks(execute=True):
        case = recoveries.recovery_open(claim=claim, amount="1000.50", grounds=GROUNDS, actor=agent())
    return claim, case, user


def observe(client, claim, case, **data):
    prefix = f"indu-{case.pk}"
    payload = {f"{prefix}-{key}": value for key, value in data.items()}
    url = reverse("portal:recovery_observations", args=[claim.pk, case.pk])
    return client.post(url, payload, follow=True)


def test_the_operator_sees_the_notice_on_its_dashboard_and_claim_page(client, notified, mailoutbox):
    claim, case, user = notified
    # Notified by e-mail: the event, then the notice letter with its PDF.
    assert any("Notification d'un indu" in m.subject and euros(case.amount_notified) in m.body for m in mailoutbox)
    letter = case.documents.get(kind=DocumentKind.DECISION_LETTER)
    assert any(a[0] == letter.original_name for m in mailoutbox for a in m.attachments)

    client.force_login(user)
    dashboard = text(client.get(reverse("portal:dashboard")))
    assert f"Indu n° {case.pk}" in dashboard and euros(case.amount_notified) in dashboard
    assert f"{case.observations_due:%d/%m/%Y}, 23 h 59" in dashboard

    page = text(client.get(reverse("portal:claim", args=[claim.pk])))
    assert GROUNDS in page and euros(case.amount_notified) in page
    assert f"{case.observations_due:%d/%m/%Y} à 23 h 59 (heure de Paris)" in page
    assert reverse("portal:document_download", args=[letter.pk]) in page
    assert "Envoyer mes observations" in page
    assert "Notification d'un indu" in page  # the history's label


def test_observations_sent_from_the_portal_reach_the_admin_the_history_and_the_agents(
    client, notified, mailoutbox, django_capture_on_commit_callbacks
):
    claim, case, user = notified
    client.force_login(user)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = observe(
            client,
            claim,
            case,
            observations="Le parc a été mis à jour le 2 juillet.",
            attachments=[pdf("attestation.pdf"), SimpleUploadedFile("capture.png", PNG, "image/png")],
        )
    assert f"Observations sur l'indu n° {case.pk} transmises" in text(response)
    case.refresh_from_db()
    assert case.observations == "Le parc a été mis à jour le 2 juillet."
    attachments = list(case.documents.filter(kind=DocumentKind.RECOVERY_OBSERVATIONS).order_by("version"))
    assert [d.original_name for d in attachments] == ["attestation.pdf", "capture.png"]

    # The claim's hash-chained history: one event per attachment, then the observations.
    events = list(claim.events.order_by("seq"))
    assert [e.action for e in events[-3:]] == ["document", "document", "recovery_observations"]
    assert "attestation.pdf" in events[-1].comment and events[-1].actor == user
    claim.refresh_from_db()
    assert claim_audit_problem(claim, events) is None

    # The agents are told (the operator acted: the agent in charge), with a link to the claim in the admin.
    to_agents = [m for m in mailoutbox if m.to == emails.agent_recipients(claim)]
    assert len(to_agents) == 1 and "Observations sur l'indu" in to_agents[0].subject
    assert "Le parc a été mis à jour" in to_agents[0].body
    assert reverse("admin:claims_claim_change", args=[claim.pk]) in to_agents[0].body

    # The admin's recovery page shows the text and the attachments, downloadable.
    client.force_login(agent())
    admin_page = text(client.get(reverse("admin:claims_recovery_change", args=[case.pk])))
    assert "Le parc a été mis à jour le 2 juillet." in admin_page
    for document in attachments:
        assert reverse("admin:claims_document_download", args=[document.pk]) in admin_page
    history = text(client.get(reverse("admin:claims_claim_change", args=[claim.pk])))
    assert "Observations sur l'indu" in history


def test_a_second_sending_completes_the_first():
    claim, user = claim_in_state("paid")
    case = recoveries.recovery_open(claim=claim, amount=10, grounds=GROUNDS, actor=agent())
    recoveries.recovery_record_observations(recovery=case, observations="Premier envoi.", actor=user)
    case = recoveries.recovery_record_observations(recovery=case, observations="Second envoi.", actor=user)
    assert case.observations.startswith("Premier envoi.\n\nComplément du ")
    assert case.observations.endswith(" : Second envoi.")


def test_observations_are_received_until_the_end_of_the_deadline_day_in_paris():
    claim, user = claim_in_state("paid")
    case = recoveries.recovery_open(claim=claim, amount=10, grounds=GROUNDS, actor=agent())
    last_minute = end_of_day(case.observations_due) - timedelta(minutes=1)
    too_late = end_of_day(case.observations_due) + timedelta(microseconds=1)
    with pytest.raises(StateConflict) as refused:
        recoveries.recovery_record_observations(recovery=case, observations="Trop tard.", actor=user, at=too_late)
    assert refused.value.code == "observations_closed"
    assert "a expiré le" in refused.value.message
    recoveries.recovery_record_observations(recovery=case, observations="À temps.", actor=user, at=last_minute)
    # An instructor may still record observations received on time by other means.
    recoveries.recovery_record_observations(
        recovery=case, observations="Courrier posté à temps.", actor=agent(), at=too_late
    )


def test_the_portal_and_the_api_refuse_observations_after_the_deadline(client, notified):
    claim, case, user = notified
    Recovery.objects.filter(pk=case.pk).update(observations_due=paris_today() - timedelta(days=1))
    client.force_login(user)
    page = text(client.get(reverse("portal:claim", args=[claim.pk])))
    assert "Envoyer mes observations" not in page and "délai expiré" in page
    response = observe(client, claim, case, observations="Trop tard.")
    assert "a expiré le" in text(response)

    api = token_client(user)
    response = api.post(
        f"/api/v1/claims/{claim.pk}/recoveries/{case.pk}/observations",
        {"text": "Trop tard.", "attachments": [pdf()]},
        format="multipart",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "observations_closed"
    case.refresh_from_db()
    assert case.observations == "" and not case.documents.filter(kind=DocumentKind.RECOVERY_OBSERVATIONS).exists()
    assert not claim.events.filter(action="recovery_observations").exists()


def test_the_api_lists_the_claims_recoveries_and_takes_observations_with_attachments(notified):
    claim, case, user = notified
    api = token_client(user)
    listed = api.get(f"/api/v1/claims/{claim.pk}/recoveries").json()
    assert listed["count"] == 1
    item = listed["results"][0]
    assert (item["id"], item["state"], item["amount_notified"], item["grounds"]) == (
        case.pk,
        "notified",
        "1000.50",
        GROUNDS,
    )
    assert item["observations_open"] is True
    assert item["observations_deadline"] == end_of_day(case.observations_due).isoformat()
    assert [d["kind"] for d in item["documents"]] == ["decision_letter"]

    response = api.post(
        f"/api/v1/claims/{claim.pk}/recoveries/{case.pk}/observations",
        {"text": "Voir l'attestation jointe.", "attachments": [pdf("attestation.pdf", content=PDF)]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["observations"] == "Voir l'attestation jointe."
    attachment = next(d for d in body["documents"] if d["kind"] == "recovery_observations")
    assert attachment["original_name"] == "attestation.pdf"
    download = api.get(attachment["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF


def test_the_api_checks_attachments_by_content_before_writing_anything(notified):
    claim, case, user = notified
    api = token_client(user)
    url = f"/api/v1/claims/{claim.pk}/recoveries/{case.pk}/observations"
    fake = SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")
    response = api.post(url, {"text": "Voir pièces.", "attachments": [pdf(), fake]}, format="multipart")
    assert response.status_code == 415
    assert api.post(url, {"text": ""}, format="multipart").status_code == 400
    assert not Document.objects.filter(kind=DocumentKind.RECOVERY_OBSERVATIONS).exists()
    assert not claim.events.filter(action="recovery_observations").exists()


def test_another_operator_gets_a_404_on_the_recoveries_of_a_claim_not_its_own(client, notified):
    claim, case, _user = notified
    stranger = operator_user(OperatorFactory(eligible=True), username="op-stranger")
    api = token_client(stranger)
    assert api.get(f"/api/v1/claims/{claim.pk}/recoveries").status_code == 404
    response = api.post(
        f"/api/v1/claims/{claim.pk}/recoveries/{case.pk}/observations", {"text": "x"}, format="multipart"
    )
    assert response.status_code == 404
    client.force_login(stranger)
    assert observe(client, claim, case, observations="x").status_code == 404
    case.refresh_from_db()
    assert case.observations == ""
    # Its own claim does not open another operator's case either.
    own, _ = claim_in_state("draft", operator=stranger.membership.operator, user=stranger)
    assert api.post(f"/api/v1/claims/{own.pk}/recoveries/{case.pk}/observations", {"text": "x"}).status_code == 404


def test_after_the_decision_the_operator_sees_it_the_order_and_the_state_each_step_emailed(
    client, notified, mailoutbox, django_capture_on_commit_callbacks
):
    claim, case, user = notified
    recoveries.recovery_record_observations(recovery=case, observations="Bonne foi.", actor=user)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        case = recoveries.recovery_decide(
            recovery=case, decision="reduced", amount="400", reason="Partiellement admis.", actor=agent()
        )
    with django_capture_on_commit_callbacks(execute=True):
        case = recoveries.recovery_issue_order(recovery=case, reference="OR-2026-042", actor=validator())
    subjects = [m.subject for m in mailoutbox]
    assert any("Décision sur l'indu" in s for s in subjects)
    assert any("Émission de l'ordre de reversement" in s for s in subjects)
    assert any(m.attachments for m in mailoutbox)  # the decision letter

    client.force_login(user)
    page = text(client.get(reverse("portal:claim", args=[claim.pk])))
    assert "Indu réduit : 400,00" in page and "Partiellement admis." in page
    assert "Référence OR-2026-042" in page and RecoveryState.ORDER_ISSUED.label in page
    assert "Envoyer mes observations" not in page
    letters = case.documents.filter(kind=DocumentKind.DECISION_LETTER).order_by("version")
    assert [d.original_name.split("-")[0] for d in letters] == ["notification", "décision"]
    api = token_client(user)
    item = api.get(f"/api/v1/claims/{claim.pk}/recoveries").json()["results"][0]
    assert (item["decision"], item["amount_due"], item["order_reference"]) == ("reduced", "400.00", "OR-2026-042")
    response = api.post(f"/api/v1/claims/{claim.pk}/recoveries/{case.pk}/observations", {"text": "Encore."})
    assert response.status_code == 409


def test_an_instructor_recording_observations_tells_the_operator(
    notified, mailoutbox, django_capture_on_commit_callbacks
):
    claim, case, _user = notified
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        recoveries.recovery_record_observations(recovery=case, observations="Reçues par courrier.", actor=agent())
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == emails.operator_recipients(claim)
    assert "Reçues par courrier." in mailoutbox[0].body


def test_attachments_to_observations_are_not_proofs_one_may_upload():
    claim, user = claim_in_state("draft")
    with pytest.raises(InvalidInput):
        services.document_upload(
            claim=claim, actor=user, kind=DocumentKind.RECOVERY_OBSERVATIONS, uploaded_file=pdf(), at=timezone.now()
        )
