"""The operators' portal in a real browser: op-alpha uploads a proof, submits its claim, sees the new state."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from claims.enums import ClaimKind, ClaimState
from claims.models import Claim, Document
from common.formatting import euros
from operators.models import Operator
from tests.factories import PDF, record_counts, segur_campaign

pytestmark = pytest.mark.e2e

# An executable renamed to .pdf: the portal must judge by content, not by name or declared type.
DISGUISED = {"name": "rapport.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00" + b"\x00" * 512}
REAL_PDF = {"name": "rapport-de-conformite.pdf", "mimeType": "application/pdf", "buffer": PDF}


@pytest.fixture
def demo():
    """The demo data (op-alpha …) plus a campaign open today in which op-alpha has no claim yet."""
    call_command("seed_demo", stdout=StringIO())
    alpha = Operator.objects.get(siren="123456782")
    campaign = segur_campaign("e2e", today=date.today(), advance_in=20, balance_in=40)
    record_counts(alpha, campaign, app=120, org=2_400, per=31_000)
    return alpha, campaign


def test_op_alpha_uploads_a_pdf_proof_submits_the_claim_and_sees_it_filed(page, login, demo, tmp_path):
    alpha, campaign = demo
    login(page, "op-alpha", "demo-password")
    assert page.url.endswith("/portail/")
    assert page.locator("h1").inner_text().startswith("Demandes de financement — Alpha Santé Messagerie")

    section = page.locator("section", has=page.locator(f"h2#campagne-{campaign.code}"))
    with page.expect_navigation():
        section.get_by_role("button", name="Créer la demande d'avance").click()
    claim = Claim.objects.get(operator=alpha, campaign=campaign, kind=ClaimKind.ADVANCE)
    assert page.locator("#etat-demande").inner_text().strip().lower() == "brouillon"
    assert "Pièce manquante : Rapport de conformité." in page.content()

    # A disguised executable is refused with a clear French message, and nothing is stored.
    page.select_option("#id_kind", "conformity_report")
    page.set_input_files("#id_file", DISGUISED)
    with page.expect_navigation():
        page.get_by_role("button", name="Déposer la pièce").click()
    error = page.locator("#id_file-desc-error")
    assert error.inner_text().strip() == "Type de fichier refusé : seuls les PDF, PNG et JPEG sont acceptés."
    assert not Document.objects.filter(claim=claim).exists()

    # The real PDF goes through.
    page.select_option("#id_kind", "conformity_report")
    page.set_input_files("#id_file", REAL_PDF)
    with page.expect_navigation():
        page.get_by_role("button", name="Déposer la pièce").click()
    assert "Pièce déposée : Rapport de conformité (version 1)." in page.locator("[role=status]").inner_text()
    assert page.locator("#pieces-requises").get_by_text("rapport-de-conformite.pdf").count() == 1

    with page.expect_navigation():
        page.get_by_role("button", name="Déposer la demande").click()
    assert page.locator("#etat-demande").inner_text().strip().lower() == "déposée"
    assert "Demande déposée : l'agence de paiement va l'instruire." in page.locator("[role=status]").inner_text()
    assert page.locator("#historique").get_by_text("Brouillon → Déposée").count() == 1
    page.screenshot(path=tmp_path / "claim-submitted.png", full_page=True)

    claim.refresh_from_db()
    assert claim.state == ClaimState.SUBMITTED
    assert claim.submitted_at is not None and claim.amount is not None

    # Back on the dashboard the claim shows its new state, its frozen amount and the amount to pay.
    page.goto("/portail/")
    row = page.locator("tr", has=page.get_by_role("link", name=f"Avance n° {claim.pk}"))
    assert "Déposée" in row.inner_text()
    assert f"{euros(claim.amount_to_pay)} à verser" in row.inner_text()


def test_anyone_simulates_funding_in_the_browser(page):
    page.goto("/portail/simulateur/")
    page.fill("#id_APP", "700")
    page.fill("#id_ORG", "5000")
    page.fill("#id_PER", "40000")
    with page.expect_navigation():
        page.get_by_role("button", name="Calculer").click()
    page.get_by_role("button", name="Barèmes historiques").click()  # the 2022 schedule is history
    workshop = page.locator("section[aria-labelledby='bareme-workshop-2022-03']")
    workshop.wait_for()
    assert "228\u202f000,00\u00a0€ HT" in workshop.inner_text()
    page.fill("#id_APP", "-3")
    with page.expect_navigation():
        page.get_by_role("button", name="Calculer").click()
    assert "supérieure ou égale à 0" in page.locator("#id_APP-desc-error").inner_text()
