"""Exports for the agents: claims as CSV / XLSX. (SEPA transfer files are made only by payment batches:
claims.payments.)"""

import csv
import io
from decimal import Decimal

from django.utils import timezone

from common.formatting import paris_date, spreadsheet_decimal, spreadsheet_text, vat_rate

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
    payment = claim.payment  # the settled one, from the prefetched payments
    return getattr(payment, field, None) if payment else None


def export_queryset(claims):
    return claims.select_related("operator", "campaign", "assigned_to").prefetch_related("payments").order_by("pk")


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
                row.append(paris_date(value))
            else:
                row.append(spreadsheet_text(value))
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def claims_xlsx(claims):
    """XLSX with numbers as numbers (amounts with a euro format) and dates as dates."""
    # Imported here: a sixth of a second at every process start otherwise.
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
