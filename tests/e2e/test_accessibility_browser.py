"""axe-core over the portal and the admin in Chromium (0 serious or critical violation), and what a
user sees: French error pages with DEBUG=0, the upload error summary taking the focus, the receipt
after submission, the next deadline after a correction request, the agents' list within 1 280 px and
the claims table as cards at 390 px.

axe-core is the npm package vendored in tests/e2e/vendor/axe-core (MPL-2.0), injected by Playwright:
the application never serves it and nothing comes from a CDN.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from claims import services
from claims.enums import ClaimKind, DocumentKind
from funding.calendar import paris_today
from tests.e2e.axe import AUDITED, audit
from tests.factories import (
    PDF,
    OperatorFactory,
    UserFactory,
    agent,
    claim_in_state,
    operator_user,
    record_counts,
    segur_campaign,
)

pytestmark = pytest.mark.e2e

DISGUISED = {"name": "rapport.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00" + b"\x00" * 512}


def sign_in(page, login, user, path="/portail/connexion/"):
    page.context.clear_cookies()
    login(page, user.username, "pw", path=path)


@pytest.fixture
def world():
    campaign = segur_campaign("a11y", advance_in=20, balance_in=40)
    operator = OperatorFactory(eligible=True, legal_name="Alpha Santé Messagerie Sécurisée des Hôpitaux")
    record_counts(operator, campaign)
    user = operator_user(operator, "op-a11y")
    draft = services.claim_create(operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=user)
    other = OperatorFactory(eligible=True, legal_name="Beta Biologie Médicale du Grand Est")
    corrected, other_user = claim_in_state("changes_requested", operator=other, campaign=campaign)
    return {"campaign": campaign, "user": user, "draft": draft, "corrected": corrected, "other_user": other_user}


def test_axe_finds_no_serious_violation_on_portal_pages(page, login, world, capsys):
    for path, name in [
        ("/portail/connexion/", "connexion"),
        ("/portail/inscription/", "inscription"),
        ("/portail/simulateur/?APP=700&ORG=5000&PER=40000", "simulateur"),
        ("/portail/mentions-legales/", "mentions légales"),
        ("/portail/donnees-personnelles/", "données personnelles"),
        ("/portail/accessibilite/", "déclaration d'accessibilité"),
        ("/portail/plan-du-site/", "plan du site"),
        ("/portail/aide/", "aide"),
        ("/portail/nulle-part/", "404"),
    ]:
        page.goto(path)
        audit(page, name)

    sign_in(page, login, world["user"])
    page.goto("/portail/")
    audit(page, "tableau de bord")
    page.goto(f"/portail/demandes/{world['draft'].pk}/")
    audit(page, "demande brouillon")
    page.set_input_files("#id_file", DISGUISED)
    with page.expect_navigation():
        page.get_by_role("button", name="Déposer la pièce").click()
    audit(page, "demande, erreur de dépôt")
    sign_in(page, login, world["other_user"])
    page.goto(f"/portail/demandes/{world['corrected'].pk}/")
    audit(page, "demande, compléments demandés")

    representative = UserFactory(username="representante-a11y")
    sign_in(page, login, representative)
    page.goto("/portail/enrolement/nouvelle/")
    audit(page, "enrôlement")
    page.fill("#id_siren", "123")
    with page.expect_navigation():
        page.get_by_role("button", name="Déposer la demande d'enrôlement").click()
    audit(page, "enrôlement, erreurs")
    with capsys.disabled():
        print("\naxe-core (portal):", [entry for entry in AUDITED if not entry[0].startswith("admin")])


def test_axe_finds_no_serious_violation_on_admin_pages(page, login, world, capsys):
    instructor = agent("instructrice-a11y")
    sign_in(page, login, instructor, path="/admin/login/")
    for path, name in [
        ("/admin/", "admin : accueil"),
        ("/admin/claims/claim/", "admin : liste des demandes"),
        (f"/admin/claims/claim/{world['corrected'].pk}/change/", "admin : demande"),
        (f"/admin/claims/claim/{world['draft'].pk}/change/", "admin : demande brouillon"),
        ("/admin/operators/operator/", "admin : opérateurs"),
        ("/admin/operators/enrolment/", "admin : enrôlements"),
        ("/admin/nulle-part/", "admin : 404"),
    ]:
        page.goto(path)
        audit(page, name)
    with capsys.disabled():
        print("\naxe-core (admin):", [entry for entry in AUDITED if entry[0].startswith("admin")])


@override_settings(DEBUG=False)
def test_error_pages_in_production_are_french(page, login, world):
    response = page.goto("/portail/nulle-part/")
    assert response.status == 404
    assert page.title() == "Page non trouvée — Financement Ségur MSSanté"
    assert page.locator("h1").inner_text() == "Page non trouvée"
    assert page.get_by_role("link", name="Aide et contact").count() >= 1
    sign_in(page, login, world["other_user"])
    response = page.goto(f"/portail/demandes/{world['draft'].pk}/")  # another operator's claim
    assert response.status == 404 and "Page non trouvée" in page.content()
    # A form sent after its session ended: the French CSRF page, not Django's.
    page.goto(f"/portail/demandes/{world['corrected'].pk}/")
    page.context.clear_cookies()
    with page.expect_navigation():
        page.get_by_role("button", name="Renvoyer la demande complétée").click()
    assert page.locator("h1").inner_text() == "Formulaire expiré"
    assert "DEBUG" not in page.content()
    sign_in(page, login, agent("instructeur-404"), path="/admin/login/")
    response = page.goto("/admin/nulle-part/")
    assert response.status == 404 and page.locator("#site-name").count() == 1
    assert "Page non trouvée" in page.locator("h1").inner_text()


def test_an_upload_error_shows_a_summary_that_takes_the_focus(page, login, world):
    sign_in(page, login, world["user"])
    page.goto(f"/portail/demandes/{world['draft'].pk}/")
    assert page.locator("#id_kind").input_value() == DocumentKind.CONFORMITY_REPORT
    page.set_input_files("#id_file", DISGUISED)
    with page.expect_navigation():
        page.get_by_role("button", name="Déposer la pièce").click()
    assert page.title().startswith("Erreur — ")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'resume-erreurs'")
    summary = page.locator("#resume-erreurs")
    assert "Type de fichier refusé" in summary.inner_text()
    summary.get_by_role("link").first.click()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'id_file'")


def test_a_submission_gives_a_receipt_to_download(page, login, world):
    draft, user = world["draft"], world["user"]
    services.document_upload(
        claim=draft, actor=user, kind=DocumentKind.CONFORMITY_REPORT, uploaded_file=_pdf("rapport.pdf")
    )
    sign_in(page, login, user)
    page.goto(f"/portail/demandes/{draft.pk}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Déposer la demande").click()
    assert "accusé de dépôt" in page.locator("[role=status]").inner_text()
    with page.expect_download() as download:
        page.locator("#accuse-depot a").click()
    assert download.value.suggested_filename == f"accuse-de-depot-{draft.pk}-v1.pdf"


def test_the_dashboard_shows_the_correction_due_before_the_filing_deadline(page, login, world):
    claim, user = claim_in_state("in_review", operator=world["user"].membership.operator, campaign=segur_campaign())
    due = paris_today() + timedelta(days=3)
    services.claim_request_changes(claim=claim, actor=claim.assigned_to, comment="Facture illisible.", due=due)
    sign_in(page, login, user)
    page.goto("/portail/")
    section = page.locator("section", has=page.locator("h2#campagne-test-campaign"))
    text = section.locator(".portail-next-deadline").inner_text()
    assert f"répondre aux compléments demandés sur l'avance n° {claim.pk}" in text


def test_the_agents_list_fits_1280_px_and_the_claims_table_is_cards_at_390_px(page, login, world):
    for n in range(8):
        operator = OperatorFactory(eligible=True, legal_name=f"Opérateur de messagerie sécurisée régional n° {n}")
        record_counts(operator, world["campaign"])
        claim_in_state("submitted", operator=operator, campaign=world["campaign"], user=operator_user(operator))
    sign_in(page, login, agent("instructeur-largeur"), path="/admin/login/")
    page.goto("/admin/claims/claim/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    table = page.locator("#result_list")
    assert page.evaluate("e => e.getBoundingClientRect().right", table.element_handle()) <= 1280
    assert "€" in table.inner_text() and "SIREN" in table.inner_text()

    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, login, world["user"])
    page.goto("/portail/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    missing = page.locator("td[data-label^='Ce qu']").first
    box = missing.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390


def test_the_simulator_shows_the_schedule_in_force_first(page):
    page.goto("/portail/simulateur/?APP=700&ORG=5000&PER=40000")
    headings = page.locator("main h3").all_inner_texts()
    assert headings[0].startswith("Barème en vigueur")
    assert not page.locator("#baremes-historiques-contenu").is_visible()
    page.get_by_role("button", name="Barèmes historiques").click()
    page.locator("#bareme-workshop-2022-03").wait_for()
    assert "historique" in page.locator("#bareme-workshop-2022-03").inner_text().lower()


def _pdf(name):
    return SimpleUploadedFile(name, PDF + name.encode(), "application/pdf")
