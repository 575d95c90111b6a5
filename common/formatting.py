"""One formatter for money and counts, in French (1 234,56 €)."""

from decimal import Decimal

NNBSP = "\u202f"
NBSP = "\u00a0"


def euros(amount):
    if amount in (None, ""):
        return "—"
    text = f"{Decimal(amount):,.2f}".replace(",", NNBSP).replace(".", ",")
    return f"{text}{NBSP}€"
