"""Exports for the agents: claims as CSV / XLSX, approved-unpaid claims as a SEPA transfer file."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from stdnum import bic as bic_check
from stdnum import iban as iban_check

from claims.enums import ClaimState
from common.exceptions import InvalidInput
from common.formatting import spreadsheet_decimal, spreadsheet_text, vat_rate
from funding.calendar import paris_today

COLUMNS = [
    # (French header, function of the claim, is money)
    ("N° demande", lambda c: c.pk, False),
    ("Opérateur", lambda c: c.operator.legal_name, False),
    ("SIREN", lambda c: c.operator.siren, False),
    ("Type d'opérateur", lambda c: c.operator.get_kind_display(), False),
    ("Campagne", lambda c: c.campaign.code, False),
    ("Demande", lambda c: c.get_kind_display(), False),
    ("État", lambda c: c.get_state_display(), False),
    ("Barème", lambda c: c.schedule_code, False),
    ("BAL APP", lambda c: (c.counts or {}).get("APP"), False),
    ("BAL ORG", lambda c: (c.counts or {}).get("ORG"), False),
    ("BAL PER", lambda c: (c.counts or {}).get("PER"), False),
    ("Financement total HT (€)", lambda c: c.funded_total, True),
    ("Montant demandé HT (€)", lambda c: c.amount, True),
    ("Taux de TVA", lambda c: vat_rate(c.vat_rate) if c.vat_rate is not None else "", False),
    ("TVA (€)", lambda c: c.vat, True),
    ("Montant à verser (€)", lambda c: c.amount_to_pay, True),
    ("Déposée le", lambda c: _date(c.submitted_at), False),
    ("Décidée le", lambda c: _date(c.decided_at), False),
    ("Agent", lambda c: c.assigned_to.username if c.assigned_to_id else "", False),
    ("Payée le", lambda c: _payment(c, "paid_on"), False),
    ("Référence du virement", lambda c: _payment(c, "reference"), False),
]
HEADERS = [header for header, _, _ in COLUMNS]


def _date(value):
    return timezone.localtime(value).date() if value else None


def _payment(claim, field):
    payment = getattr(claim, "payment", None) if hasattr(claim, "payment") else None
    return getattr(payment, field, None) if payment else None


def export_queryset(claims):
    return claims.select_related("operator", "campaign", "assigned_to", "payment").order_by("pk")


def claims_csv(claims):
    """CSV for French spreadsheets: `;` separator, decimal comma, UTF-8 with BOM, dates as DD/MM/YYYY;
    text cells that a spreadsheet would read as a formula are neutralised (`spreadsheet_text`)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for claim in export_queryset(claims):
        row = []
        for _, value_of, money in COLUMNS:
            value = value_of(claim)
            if value is None:
                row.append("")
            elif money:
                row.append(spreadsheet_decimal(value))
            elif hasattr(value, "strftime"):
                row.append(value.strftime("%d/%m/%Y"))
            else:
                row.append(spreadsheet_text(value))
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def claims_xlsx(claims):
    """XLSX with numbers as numbers (amounts with a euro format) and dates as dates."""
    # Imported here, like sepaxml below: a sixth of a second at every process start otherwise.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Demandes"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for claim in export_queryset(claims):
        # Text is neutralised (never a formula); numbers and dates stay what they are.
        sheet.append([spreadsheet_text(value_of(claim)) for _, value_of, _ in COLUMNS])
        row = sheet.max_row
        for index, (_, _, money) in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=row, column=index)
            if money and cell.value is not None:
                cell.value = Decimal(cell.value)
                cell.number_format = '#,##0.00 "€"'
            elif hasattr(cell.value, "year"):
                cell.number_format = "DD/MM/YYYY"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sepa_transfer_file(claims, *, execution_date=None):
    """A SEPA credit-transfer file (pain.001.001.03) paying the approved, unpaid claims among `claims`.

    Refused as a whole (InvalidInput naming the operators) when an operator lacks valid bank
    details, so that a file never pays only part of what the agent selected.
    """
    from sepaxml import SepaTransfer

    payable = [
        c
        for c in export_queryset(claims)
        if c.state == ClaimState.APPROVED and c.amount_to_pay is not None and c.amount_to_pay > 0
    ]
    if not payable:
        raise InvalidInput("Aucune demande approuvée et non payée dans la sélection.")
    bad = [
        c.operator.legal_name
        for c in payable
        if not (iban_check.is_valid(c.operator.iban or "") and bic_check.is_valid(c.operator.bic or ""))
    ]
    if bad:
        raise InvalidInput("Coordonnées bancaires absentes ou invalides : " + ", ".join(sorted(set(bad))) + ".")
    execution_date = execution_date or paris_today() + timedelta(days=1)
    transfer = SepaTransfer(
        {
            "name": settings.SEPA_DEBTOR_NAME,
            "IBAN": iban_check.compact(settings.SEPA_DEBTOR_IBAN),
            "BIC": bic_check.compact(settings.SEPA_DEBTOR_BIC),
            "batch": True,
            "currency": "EUR",
        },
        clean=True,
    )
    for claim in payable:
        transfer.add_payment(
            {
                "name": claim.operator.legal_name[:70],
                "IBAN": iban_check.compact(claim.operator.iban),
                "BIC": bic_check.compact(claim.operator.bic),
                # What the claim says to pay: VAT included where the operator is liable (claims.pricing).
                "amount": int((claim.amount_to_pay * 100).to_integral_value()),
                "execution_date": execution_date,
                "description": f"Financement Segur MSSante {claim.get_kind_display()} {claim.pk}",
                "endtoend_id": f"SEGUR-{claim.pk}",
            }
        )
    return transfer.export(validate=True), payable
