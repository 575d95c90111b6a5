"""Exports checked cell by cell: CSV and XLSX (the SEPA file is a payment batch's: test_payment_batches.py)."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from claims.models import Claim
from tests.factories import agent, claim_in_state

pytestmark = pytest.mark.django_db
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


def export(client, action, claims):
    return client.post(
        reverse("admin:claims_claim_changelist"),
        {"action": action, "_selected_action": [c.pk for c in claims]},
    )


@pytest.fixture
def paid_and_approved():
    paid_claim, _ = claim_in_state("paid")
    approved, _ = claim_in_state("approved")
    for claim in (paid_claim, approved):
        claim.operator.iban = "FR7630006000011234567890189"
        claim.operator.bic = "AGRIFRPP"
        claim.operator.save()
    return Claim.objects.get(pk=paid_claim.pk), Claim.objects.get(pk=approved.pk)


def test_csv_export_cell_by_cell(client, paid_and_approved):
    paid_claim, approved = paid_and_approved
    client.force_login(agent())
    response = export(client, "export_csv", [paid_claim, approved])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(content[1:]), delimiter=";"))
    assert rows[0] == [
        "N° demande",
        "Opérateur",
        "SIREN",
        "Type d'opérateur",
        "Campagne",
        "Demande",
        "État",
        "Barème",
        "BAL APP",
        "BAL ORG",
        "BAL PER",
        "Financement total HT (€)",
        "Montant demandé HT (€)",
        "Taux de TVA",
        "TVA (€)",
        "Montant à verser (€)",
        "Déposée le",
        "Décidée le",
        "Agent",
        "Payée le",
        "Référence du virement",
    ]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["N° demande"] == str(paid_claim.pk)
    assert first["Opérateur"] == paid_claim.operator.legal_name
    assert first["SIREN"] == paid_claim.operator.siren
    assert first["Type d'opérateur"] == "Opérateur développeur"
    assert first["Demande"] == "Avance"
    assert first["État"] == "Payée"
    assert first["Barème"] == "segur-2023"
    assert (first["BAL APP"], first["BAL ORG"], first["BAL PER"]) == ("10", "100", "1000")
    assert first["Financement total HT (€)"] == "14332,97"
    assert first["Montant demandé HT (€)"] == "4299,89"
    assert (first["Taux de TVA"], first["TVA (€)"], first["Montant à verser (€)"]) == ("20\u00a0%", "859,98", "5159,87")
    assert first["Référence du virement"] == "VIR-1"
    assert first["Payée le"] == paid_claim.payment.paid_on.strftime("%d/%m/%Y")
    second = dict(zip(rows[0], rows[2], strict=True))
    assert (second["État"], second["Payée le"], second["Référence du virement"]) == ("Approuvée", "", "")
    assert len(rows) == 3


def test_xlsx_export_has_numbers_and_dates(client, paid_and_approved):
    paid_claim, _ = paid_and_approved
    client.force_login(agent())
    response = export(client, "export_xlsx", [paid_claim])
    sheet = load_workbook(io.BytesIO(response.content)).active
    headers = [cell.value for cell in sheet[1]]
    row = {h: cell.value for h, cell in zip(headers, sheet[2], strict=True)}
    assert row["N° demande"] == paid_claim.pk
    assert row["Montant demandé HT (€)"] == pytest.approx(4299.89)
    assert isinstance(row["Montant demandé HT (€)"], float | int)
    assert row["Financement total HT (€)"] == pytest.approx(14332.97)
    assert row["BAL PER"] == 1000
    assert row["Payée le"].date() == paid_claim.payment.paid_on
    assert sheet.max_row == 2
