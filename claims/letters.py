"""Decision letters (approval, rejection, recovery) and filing receipts (accusés de dépôt) as PDF, in
French, with the claim's breakdown or its proofs' fingerprints."""

import functools
from decimal import Decimal
from pathlib import Path

from django.utils import timezone
from fontTools.ttLib import TTFont
from fpdf import FPDF

from common.formatting import count, euros, paris_date, paris_datetime, vat_rate

# DejaVu Sans ships with the code (claims/fonts, with its licence): it covers €, «», œ and the narrow
# no-break space, and every machine renders the same letter. Each letter parses its fonts again (fpdf2
# subsets a parsed font in place when it writes the PDF, so a parsed font cannot serve two letters):
# it parses the Latin cut (≈ 450 glyphs, claims/fonts/build_latin.py), a third of the cost of the whole
# font, and the whole font only when a text has a character outside that cut (a file name in Greek).
FONT_DIR = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
FALLBACK_FAMILY = "DejaVuFull"
FONT_FILES = {"": "DejaVuSans", "B": "DejaVuSans-Bold"}


@functools.cache
def latin_characters() -> frozenset[str]:
    """The characters both Latin cuts draw (read once from their character maps)."""
    codes = []
    for name in FONT_FILES.values():
        with TTFont(FONT_DIR / f"{name}-Latin.ttf", lazy=True) as font:
            codes.append(set(font.getBestCmap()))
    return frozenset(chr(code) for code in set.intersection(*codes))


class _Letter(FPDF):
    def __init__(self, title="Lettre de décision"):
        super().__init__(format="A4")
        self.set_auto_page_break(auto=True, margin=18)
        for style, name in FONT_FILES.items():
            self.add_font(FAMILY, style, FONT_DIR / f"{name}-Latin.ttf")
            self._keep_glyph_boxes(FAMILY, style)
        self.whole_fonts_loaded = False
        self.set_title(f"{title} — Financement Ségur MSSanté")
        self.set_creator("Plateforme de financement Ségur MSSanté")

    def _keep_glyph_boxes(self, family, style):
        """The glyphs are embedded as they are (a subset keeps their outlines): their bounding boxes,
        already in the font, need not be computed again, which was half the cost of writing a letter."""
        self.fonts[f"{family.lower()}{style}"].ttfont.recalcBBoxes = False

    def normalize_text(self, text):
        """Every text goes through here before it is measured or drawn: the first one with a character
        outside the Latin cut brings in the whole fonts, as fpdf2's fallback for the missing glyphs."""
        if not self.whole_fonts_loaded and not latin_characters().issuperset(text.replace("\n", "")):
            for style, name in FONT_FILES.items():
                self.add_font(FALLBACK_FAMILY, style, FONT_DIR / f"{name}.ttf")
            self.set_fallback_fonts([FALLBACK_FAMILY])
            self.whole_fonts_loaded = True
        return super().normalize_text(text)

    def para(self, value, *, bold=False, size=10, height=5.5):
        self.set_font(FAMILY, "B" if bold else "", size)
        self.multi_cell(0, height, value, new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)


def decision_letter(*, claim, title, paragraphs, signed_by, at=None):
    """Return the PDF bytes of a decision letter about `claim`."""
    at = timezone.localtime(at or timezone.now())
    pdf = _Letter()
    pdf.add_page()
    pdf.para("Financement Ségur — opérateurs MSSanté", bold=True, size=9)
    pdf.para(f"Le {paris_date(at)}", size=9)
    operator = claim.operator
    pdf.para(f"{operator.legal_name}\nSIREN {operator.siren}", size=10)
    pdf.ln(4)
    pdf.para(title, bold=True, size=14, height=7)
    pdf.para(
        f"Objet : demande « {claim.get_kind_display()} » n° {claim.pk} — campagne {claim.campaign.label}", bold=True
    )
    for paragraph in paragraphs:
        pdf.para(paragraph)
    breakdown = claim.breakdown
    if breakdown:
        pdf.ln(2)
        pdf.para(
            f"Calcul du financement (barème {breakdown['schedule']}, BAL comptées "
            f"{breakdown.get('counts_basis') or 'au ' + breakdown.get('counts_as_of', '')})",
            bold=True,
        )
        pdf.set_font(FAMILY, "", 9)
        widths = (40, 30, 40, 50)
        for cells in [("Type de BAL", "Nombre", "Tarif HT", "Montant HT")] + [
            (line["type"], count(line["count"]), euros(_d(line["rate"])), euros(_d(line["amount"])))
            for line in breakdown["lines"]
        ]:
            for width, cell in zip(widths, cells, strict=True):
                pdf.cell(width, 6, cell, border=1)
            pdf.ln(6)
        pdf.ln(2)
        rows = [
            ("Forfait", euros(_d(breakdown["base"]))),
            ("Plafond", euros(_d(breakdown["cap"])) + (" (appliqué)" if breakdown["capped"] else "")),
            ("Financement total HT", euros(_d(breakdown["total"]))),
        ]
        granted = breakdown.get("advance_granted", breakdown.get("advance_paid"))
        if granted is not None:
            rows.append(("Avance accordée, déduite HT", euros(_d(granted))))
        rows.append(("Montant de la demande HT", euros(_d(breakdown["amount"]))))
        if "amount_to_pay" in breakdown:
            rate = _d(breakdown["vat_rate"])
            label = f"TVA ({vat_rate(rate)})" if rate else "TVA (non applicable)"
            rows.append((label, euros(_d(breakdown["vat"]))))
            rows.append(("Montant à verser", euros(_d(breakdown["amount_to_pay"]))))
        for label, value in rows:
            pdf.cell(70, 6, label, border=1)
            pdf.cell(90, 6, value, border=1)
            pdf.ln(6)
    pdf.ln(6)
    pdf.para(f"Pour l'agence de paiement,\n{signed_by}")
    return bytes(pdf.output())


def filing_receipt(*, claim, documents, filed_by, resubmission, at):
    """Return the PDF bytes of the receipt (accusé de dépôt) of a claim just (re)submitted at `at`:
    when (Paris), what (claim number, amounts frozen at filing) and which proofs (name, version,
    SHA-256), so the operator can later prove what it filed."""
    pdf = _Letter(title="Accusé de dépôt")
    pdf.add_page()
    pdf.para("Financement Ségur — opérateurs MSSanté", bold=True, size=9)
    operator = claim.operator
    pdf.para(f"{operator.legal_name}\nSIREN {operator.siren}", size=10)
    pdf.ln(4)
    pdf.para("Accusé de dépôt", bold=True, size=14, height=7)
    verb = "renvoyée complétée" if resubmission else "déposée"
    pdf.para(f"Demande « {claim.get_kind_display()} » n° {claim.pk} — campagne {claim.campaign.label}", bold=True)
    pdf.para(f"{verb.capitalize()} le {paris_datetime(at)} (heure de Paris) par {filed_by}.")
    rows = [("Montant demandé HT", euros(claim.amount))]
    if claim.vat_rate:
        rows.append((f"TVA ({vat_rate(claim.vat_rate)})", euros(claim.vat)))
    else:
        rows.append(("TVA", "non applicable"))
    rows.append(("Montant à verser", euros(claim.amount_to_pay)))
    for label, value in rows:
        pdf.cell(70, 6, label, border=1)
        pdf.cell(90, 6, value, border=1)
        pdf.ln(6)
    pdf.ln(4)
    pdf.para("Pièces jointes au dépôt", bold=True)
    if not documents:
        pdf.para("Aucune pièce.")
    for document in documents:
        pdf.para(
            f"{document.get_kind_display()} — {document.original_name}, version {document.version}",
            bold=True,
            size=9,
            height=5,
        )
        pdf.para(f"SHA-256 : {document.sha256}", size=8, height=4.5)
    pdf.ln(4)
    pdf.para(
        "Cet accusé atteste la réception de la demande et des pièces ci-dessus par l'agence de paiement. "
        "Il ne vaut pas décision : l'agence instruit la demande et vous informe de la suite par courriel. "
        "L'empreinte SHA-256 d'un fichier permet de vérifier qu'il est celui qui a été déposé.",
        size=9,
    )
    return bytes(pdf.output())


def _d(value):
    return Decimal(value)
