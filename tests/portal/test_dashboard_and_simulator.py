"""The dashboard (campaigns, claims, amounts with VAT, deadlines, what is missing) and the public simulator."""

from datetime import timedelta

import pytest
from django.urls import reverse

from claims import services
from claims.enums import ClaimKind, ClaimState
from claims.models import Claim, ClaimEvent
from funding.models import FundingSchedule
from tests.factories import claim_in_state, segur_campaign
from tests.portal.utils import text

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("portal:dashboard")
SIMULATOR = reverse("portal:simulator")


def test_dashboard_lists_claims_with_state_amount_vat_deadline_and_what_is_missing(client, alpha, campaign):
    draft = services.claim_create(operator=alpha.operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=alpha.user)
    client.force_login(alpha.user)
    page = text(client.get(DASHBOARD))
    assert f"Demandes de financement — {alpha.operator.legal_name}" in page
    assert campaign.label in page
    assert f"Avance n° {draft.pk}" in page
    assert "Brouillon" in page
    assert "4\u202f299,89\u00a0€ HT" in page and "5\u202f159,87\u00a0€ à verser" in page
    assert "estimation, figée au dépôt" in page
    assert f"{campaign.advance_deadline:%d/%m/%Y}" in page
    assert "Pièce manquante : Rapport de conformité." in page
    assert "Prochaine échéance" in page
    # An advance is live and not approved yet: neither claim may be opened.
    assert "Créer la demande de solde" not in page
    assert "Créer la demande d'avance" not in page
    services.claim_withdraw(claim=draft, actor=alpha.user)
    page = text(client.get(DASHBOARD))
    assert "Créer la demande d'avance" in page and "Créer la demande de solde" not in page


def test_dashboard_shows_the_correction_due_date_and_frozen_amounts(client, alpha, campaign):
    claim, user = claim_in_state("changes_requested", operator=alpha.operator, campaign=campaign, user=alpha.user)
    client.force_login(user)
    page = text(client.get(DASHBOARD))
    claim.refresh_from_db()
    assert "Compléments demandés" in page
    assert f"Réponse attendue avant le {claim.correction_due:%d/%m/%Y}" in page
    assert "estimation" not in page  # the amount was frozen at submission


def test_operator_creates_an_advance_from_the_dashboard(client, alpha, campaign):
    client.force_login(alpha.user)
    response = client.post(reverse("portal:claim_create"), {"campaign": campaign.code, "kind": "advance"})
    claim = Claim.objects.get()
    assert response["Location"] == reverse("portal:claim", args=[claim.pk])
    assert (claim.operator, claim.kind, claim.state) == (alpha.operator, ClaimKind.ADVANCE, ClaimState.DRAFT)
    assert ClaimEvent.objects.filter(claim=claim, action="create", actor=alpha.user).exists()


def test_a_second_live_advance_is_refused_in_french_and_nothing_is_created(client, alpha, campaign):
    services.claim_create(operator=alpha.operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=alpha.user)
    client.force_login(alpha.user)
    response = client.post(reverse("portal:claim_create"), {"campaign": campaign.code, "kind": "advance"}, follow=True)
    assert "Une demande « Avance » est déjà en cours pour cet opérateur et cette campagne." in text(response)
    assert Claim.objects.count() == 1


def test_claims_after_the_deadline_are_refused_and_closed_campaigns_are_hidden(client, alpha):
    closed = segur_campaign("closed", advance_in=-2, balance_in=-1)
    client.force_login(alpha.user)
    page = text(client.get(DASHBOARD))
    assert closed.label not in page
    response = client.post(reverse("portal:claim_create"), {"campaign": "closed", "kind": "advance"}, follow=True)
    assert "est dépassée" in text(response)
    assert not Claim.objects.exists()
    assert client.post(reverse("portal:claim_create"), {"campaign": "nope", "kind": "advance"}).status_code == 404


def test_user_without_operator_cannot_create_claims(client, representative, campaign):
    client.force_login(representative)
    page = text(client.get(DASHBOARD))
    assert "Déclarer mon opérateur" in page
    response = client.post(reverse("portal:claim_create"), {"campaign": campaign.code, "kind": "advance"}, follow=True)
    assert "seul un utilisateur d'un opérateur enrôlé peut créer une demande" in text(response)
    assert not Claim.objects.exists()


def test_dashboard_uses_the_operators_extended_deadline(client, alpha, campaign, supervisor):
    new_deadline = campaign.advance_deadline + timedelta(days=10)
    services.deadline_extension_grant(
        operator=alpha.operator,
        campaign=campaign,
        kind=ClaimKind.ADVANCE,
        new_deadline=new_deadline,
        reason="Incident de la plateforme de tests ANS.",
        actor=supervisor,
    )
    client.force_login(alpha.user)
    page = text(client.get(DASHBOARD))
    assert f"Avance : dépôt jusqu'au {new_deadline:%d/%m/%Y}" in page


# --- Simulator ------------------------------------------------------------------------------------


def test_simulator_is_public_and_empty_at_first(client, db):
    response = client.get(SIMULATOR)
    assert response.status_code == 200
    assert "Résultats" not in text(response)


@pytest.mark.parametrize(
    ("counts", "total", "total_vat"),
    [
        ((700, 5000, 40000), "228\u202f000,00\u00a0€", "273\u202f600,00\u00a0€"),
        ((5, 200, 12000), "44\u202f200,00\u00a0€", "53\u202f040,00\u00a0€"),
        ((1, 100, 900), "9\u202f240,00\u00a0€", "11\u202f088,00\u00a0€"),
    ],
)
def test_simulator_reproduces_the_workshop_examples_with_vat(client, db, counts, total, total_vat):
    app, org, per = counts
    page = text(client.get(SIMULATOR, {"APP": app, "ORG": org, "PER": per}))
    workshop = page[page.index('id="bareme-workshop-2022-03"') :]
    assert f"{total} HT" in workshop
    assert f"({total_vat} TTC pour un opérateur assujetti, TVA 20\u00a0%)" in workshop


def test_simulator_shows_every_published_schedule_with_lines_base_cap_advance_and_balance(client, db):
    FundingSchedule.objects.filter(code="workshop-2022-03").update(is_published=False)
    page = text(client.get(SIMULATOR, {"APP": 700, "ORG": 5000, "PER": 40000}))
    assert 'id="bareme-segur-2023"' in page
    assert 'id="bareme-workshop-2022-03"' not in page
    for label in ("BAL APP", "BAL ORG", "BAL PER", "Forfait", "Sous-total", "Plafond", "Avance", "Solde"):
        assert label in page
    assert "plafonné" in page  # 351 647,67 € capped at 250 000,00 €
    assert "250\u202f000,00\u00a0€" in page and "300\u202f000,00\u00a0€" in page  # the cap incl. VAT
    assert "75\u202f000,00\u00a0€" in page and "175\u202f000,00\u00a0€" in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"APP": "-1", "ORG": "0", "PER": "0"}, "APP", "supérieure ou égale à 0"),
        ({"APP": "abc", "ORG": "0", "PER": "0"}, "APP", "Saisissez un nombre entier."),
        ({"APP": "1.5", "ORG": "0", "PER": "0"}, "APP", "Saisissez un nombre entier."),
        ({"APP": "0", "ORG": "10000001", "PER": "0"}, "ORG", "inférieure ou égale à 10000000"),
        ({"APP": "0", "ORG": "0"}, "PER", "Ce champ est obligatoire."),
        ({"APP": "1e400", "ORG": "0", "PER": "0"}, "APP", "Saisissez un nombre entier."),
        ({"APP": "9" * 400, "ORG": "0", "PER": "0"}, "APP", "inférieure ou égale"),
    ],
)
def test_simulator_bad_input_gives_french_field_errors_never_a_500(client, db, query, field, message):
    response = client.get(SIMULATOR, query)
    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert f'id="id_{field}-desc-error"' in page
    assert "Résultats" not in page
