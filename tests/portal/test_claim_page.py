"""The claim page: breakdown, proofs checklist, uploads (French errors), transitions and wrong states."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims import services, workflow
from claims.enums import ClaimKind, ClaimState, DocumentKind
from claims.models import Claim, ClaimEvent, Document
from common.exceptions import UnsupportedFileType
from funding.calendar import paris_today
from operators.enums import OperatorKind
from tests.factories import (
    PDF,
    PNG,
    OperatorFactory,
    agent,
    approved,
    claim_in_state,
    operator_user,
    paid,
    pdf,
    ready_advance,
    record_counts,
)
from tests.portal.utils import text

pytestmark = pytest.mark.django_db

EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


@pytest.fixture
def draft(alpha, campaign):
    claim = services.claim_create(operator=alpha.operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=alpha.user)
    return claim


def claim_url(claim, name="portal:claim"):
    return reverse(name, args=[claim.pk])


def state_of(claim):
    return Claim.objects.get(pk=claim.pk).state


def test_draft_page_shows_estimate_with_vat_checklist_and_what_is_missing(client, draft, alpha):
    client.force_login(alpha.user)
    page = text(client.get(claim_url(draft)))
    # Counts 10 / 100 / 1000 under segur-2023: 583.30 + 2 083.00 + 5 000.00 + 6 666.67 = 14 332.97; advance 30 %.
    assert "14\u202f332,97\u00a0€" in page
    assert "4\u202f299,89\u00a0€ HT" in page  # the advance, estimated
    assert "5\u202f159,87\u00a0€ à verser (TVA 20\u00a0%)" in page  # with the campaign's 20 % VAT
    # Which source gave each count, and its date, on the same page.
    assert "Saisie d'un agent au" in page
    assert "Montant estimé" in page
    assert "Brouillon" in page
    assert "Rapport de conformité" in page
    assert "Pièce manquante : Rapport de conformité." in page
    assert claim_url(draft, "portal:claim_upload") in page
    assert claim_url(draft, "portal:claim_submit") not in page  # guards fail: no button


def test_required_proofs_match_the_workflow_guards(alpha, campaign):
    """The checklist's proof list is the one the workflow checks, for each claim and operator kind."""
    buyer = OperatorFactory(eligible=True, kind=OperatorKind.BUYER, provider=alpha.operator)
    user = operator_user(buyer)
    record_counts(buyer, campaign)
    for operator, actor in ((alpha.operator, alpha.user), (buyer, user)):
        claim = services.claim_create(operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=actor)
        required = workflow.required_proof_kinds(claim)
        assert required == (
            [DocumentKind.PROVIDER_CONFORMITY_REPORT, DocumentKind.INVOICE]
            if operator.is_buyer
            else [DocumentKind.CONFORMITY_REPORT]
        )
        assert workflow.required_proofs_present(claim, actor=actor, at=None) == [
            f"Pièce manquante : {DocumentKind(kind).label}." for kind in required
        ]
        for kind in required:
            services.document_upload(claim=claim, actor=actor, kind=kind, uploaded_file=pdf())
        assert workflow.required_proofs_present(claim, actor=actor, at=None) == []
    alpha_advance = Claim.objects.get(operator=alpha.operator, kind=ClaimKind.ADVANCE)
    approved(services.claim_submit(claim=alpha_advance, actor=alpha.user))
    balance = services.claim_create(
        operator=alpha.operator, campaign=campaign, kind=ClaimKind.BALANCE, actor=alpha.user
    )
    required = workflow.required_proof_kinds(balance)
    assert required == [DocumentKind.CONFORMITY_COMMITMENT]
    assert workflow.required_proofs_present(balance, actor=None, at=None) == [
        f"Pièce manquante : {DocumentKind(kind).label}." for kind in required
    ]


def test_operator_uploads_a_pdf_then_submits_and_sees_the_new_state(client, draft, alpha, mailoutbox):
    client.force_login(alpha.user)
    response = client.post(
        claim_url(draft, "portal:claim_upload"), {"kind": DocumentKind.CONFORMITY_REPORT, "file": pdf("rapport.pdf")}
    )
    assert response.status_code == 302
    document = Document.objects.get(claim=draft)
    assert (document.kind, document.version, document.original_name) == ("conformity_report", 1, "rapport.pdf")

    page = text(client.get(claim_url(draft)))
    assert "Pièce déposée : Rapport de conformité (version 1)." in page
    assert claim_url(draft, "portal:claim_submit") in page

    response = client.post(claim_url(draft, "portal:claim_submit"), follow=True)
    page = text(response)
    assert "Demande déposée : l'agence de paiement va l'instruire." in page
    assert state_of(draft) == ClaimState.SUBMITTED
    assert "Déposée" in page
    assert "Dépôt de la demande" in page  # the event in the history (common.labels)
    assert claim_url(draft, "portal:claim_upload") not in page  # no more uploads once submitted
    claim = Claim.objects.get(pk=draft.pk)
    assert "4\u202f299,89\u00a0€ HT" in page and claim.amount is not None  # frozen now


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("setup.pdf", EXECUTABLE, "application/pdf"), UnsupportedFileType.default_message),
        (SimpleUploadedFile("vide.pdf", b"", "application/pdf"), "Le fichier est vide."),
        (SimpleUploadedFile("gros.pdf", PDF + b"0" * 2048, "application/pdf"), "Le fichier dépasse la taille maximale"),
    ],
    ids=["disguised-executable", "empty", "too-large"],
)
def test_refused_uploads_show_a_french_error_and_store_nothing(client, draft, alpha, settings, upload, message):
    settings.DOCUMENT_MAX_BYTES = 1024
    client.force_login(alpha.user)
    response = client.post(claim_url(draft, "portal:claim_upload"), {"kind": "conformity_report", "file": upload})
    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert "fr-upload-group--error" in page
    assert Document.objects.count() == 0
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_upload_without_a_file_or_with_an_unknown_kind_is_refused_in_french(client, draft, alpha):
    client.force_login(alpha.user)
    page = text(client.post(claim_url(draft, "portal:claim_upload"), {"kind": "conformity_report"}))
    assert "Ce champ est obligatoire." in page
    page = text(client.post(claim_url(draft, "portal:claim_upload"), {"kind": "decision_letter", "file": pdf()}))
    assert "Sélectionnez un choix valide." in page
    assert Document.objects.count() == 0


def test_png_and_new_versions_are_accepted(client, draft, alpha):
    client.force_login(alpha.user)
    for name, content in (("scan.png", PNG), ("v2.pdf", PDF)):
        upload = SimpleUploadedFile(name, content, "application/octet-stream")
        assert (
            client.post(claim_url(draft, "portal:claim_upload"), {"kind": "other", "file": upload}).status_code == 302
        )
    assert list(Document.objects.order_by("version").values_list("version", "content_type")) == [
        (1, "image/png"),
        (2, "application/pdf"),
    ]


def test_wrong_state_actions_show_a_french_message_and_change_nothing(client, alpha, campaign):
    claim, user = claim_in_state("submitted", operator=alpha.operator, campaign=campaign, user=alpha.user)
    client.force_login(user)
    events = ClaimEvent.objects.filter(claim=claim).count()
    cases = [
        ("portal:claim_submit", {}, "Action « Déposer la demande » impossible : la demande est « Déposée »."),
        (
            "portal:claim_resubmit",
            {},
            "Action « Renvoyer la demande complétée » impossible : la demande est « Déposée ».",
        ),
        (
            "portal:claim_update_details",
            {"technical_doc_url": "https://doc.example"},
            "La demande ne peut plus être modifiée dans son état actuel.",
        ),
    ]
    for name, data, message in cases:
        page = text(client.post(claim_url(claim, name), data, follow=True))
        assert message in page, name
    response = client.post(claim_url(claim, "portal:claim_upload"), {"kind": "other", "file": pdf()}, follow=True)
    assert "Les pièces ne peuvent être ajoutées qu'à une demande en brouillon ou en complément." in text(response)
    claim.refresh_from_db()
    assert claim.state == ClaimState.SUBMITTED
    assert claim.technical_doc_url == ""
    assert ClaimEvent.objects.filter(claim=claim).count() == events
    assert Document.objects.filter(claim=claim).exclude(kind=DocumentKind.RECEIPT).count() == 1  # and its receipt


def test_paid_claim_cannot_be_withdrawn(client, alpha, campaign):
    claim, user = claim_in_state("paid", operator=alpha.operator, campaign=campaign, user=alpha.user)
    client.force_login(user)
    page = text(client.get(claim_url(claim)))
    assert "Payée" in page
    assert claim_url(claim, "portal:claim_withdraw") not in page
    page = text(client.post(claim_url(claim, "portal:claim_withdraw"), follow=True))
    assert "Action « Retirer la demande » impossible : la demande est « Payée »." in page
    assert state_of(claim) == ClaimState.PAID


def test_withdraw_a_draft_with_a_reason(client, draft, alpha):
    client.force_login(alpha.user)
    page = text(client.post(claim_url(draft, "portal:claim_withdraw"), {"comment": "Erreur de saisie"}, follow=True))
    assert "Demande retirée." in page
    assert state_of(draft) == ClaimState.WITHDRAWN
    assert ClaimEvent.objects.filter(claim=draft, action="withdraw", comment="Erreur de saisie").exists()


def test_changes_requested_shows_the_agents_message_and_due_date_then_resubmit(client, alpha, campaign):
    claim, user = claim_in_state("changes_requested", operator=alpha.operator, campaign=campaign, user=alpha.user)
    client.force_login(user)
    page = text(client.get(claim_url(claim)))
    assert "Compléments demandés par l'agence" in page
    assert "Pièce illisible." in page
    due = Claim.objects.get(pk=claim.pk).correction_due
    assert due == paris_today() + timedelta(days=15)
    assert "Réponse attendue avant le" in page
    assert claim_url(claim, "portal:claim_resubmit") in page
    assert claim_url(claim, "portal:claim_upload") in page

    upload = {"kind": "conformity_report", "file": pdf("rapport-v2.pdf")}
    assert client.post(claim_url(claim, "portal:claim_upload"), upload).status_code == 302
    page = text(client.post(claim_url(claim, "portal:claim_resubmit"), {"comment": "Pièce remplacée."}, follow=True))
    assert "Demande complétée renvoyée à l'agence de paiement." in page
    assert state_of(claim) == ClaimState.SUBMITTED
    assert ClaimEvent.objects.filter(claim=claim, action="resubmit", comment="Pièce remplacée.").exists()


def test_balance_needs_an_https_documentation_link_edited_on_the_page(client, alpha, campaign):
    advance, _ = ready_advance(operator=alpha.operator, campaign=campaign, user=alpha.user)
    paid(services.claim_submit(claim=advance, actor=alpha.user), instructor=agent("i2"))
    client.force_login(alpha.user)
    response = client.post(reverse("portal:claim_create"), {"campaign": campaign.code, "kind": "balance"})
    balance = Claim.objects.get(kind=ClaimKind.BALANCE)
    assert response["Location"] == claim_url(balance)
    page = text(client.get(claim_url(balance)))
    assert "Le lien vers la documentation technique pour les éditeurs doit être une adresse https." in page
    assert "Avance accordée, déduite" in page
    assert "Indiquez la date de déploiement du connecteur." in page

    response = client.post(claim_url(balance, "portal:claim_update_details"), {"technical_doc_url": "pas une adresse"})
    assert response.status_code == 400
    assert "Saisissez une URL valide." in text(response)
    client.post(claim_url(balance, "portal:claim_update_details"), {"technical_doc_url": "https://doc.alpha.example"})
    balance.refresh_from_db()
    assert balance.technical_doc_url == "https://doc.alpha.example"
    page = text(client.get(claim_url(balance)))
    assert "Le lien vers la documentation technique pour les éditeurs doit être une adresse https." not in page
    assert "Pièce manquante : Engagement de conformité du parc (Annexe 2)." in page

    # Deployment date and technical contact on the same form; a date after the closure is named.
    late = (campaign.closure_date + timedelta(days=1)).strftime("%d/%m/%Y")
    client.post(
        claim_url(balance, "portal:claim_update_details"),
        {
            "technical_doc_url": "https://doc.alpha.example",
            "deployment_date": late,
            "technical_contact_name": "Camille Martin",
            "technical_contact_email": "support@alpha.example",
        },
    )
    balance.refresh_from_db()
    assert (balance.technical_contact_name, balance.deployment_date) == (
        "Camille Martin",
        campaign.closure_date + timedelta(days=1),
    )
    page = text(client.get(claim_url(balance)))
    assert "Le connecteur doit être déployé au plus tard le" in page
    assert "Indiquez le contact technique" not in page


def test_history_lists_every_event_with_its_author(client, alpha, campaign):
    claim, user = claim_in_state("in_review", operator=alpha.operator, campaign=campaign, user=alpha.user)
    client.force_login(user)
    page = text(client.get(claim_url(claim)))
    for label in ("Création de la demande", "Dépôt d'une pièce", "Dépôt de la demande", "Prise en charge"):
        assert label in page
    assert "Déposée → En instruction" in page
