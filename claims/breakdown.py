"""A claim's breakdown as people read it (Decimal amounts, dates in French words, the sources of each
count): one presenter for the admin's claim page, the portal's claim page and its simulator, rendered
by one template (templates/claims/_breakdown_table.html)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from common.formatting import PARIS, paris_date


def _dec(value):
    return Decimal(value) if value not in (None, "") else None


@dataclass
class BreakdownView:
    """A breakdown as the claim page and the simulator show it (Decimal amounts, excl. VAT; a claim's
    VAT and amount to pay beside)."""

    schedule: str
    lines: list
    base: Decimal
    subtotal: Decimal
    cap: Decimal
    capped: bool
    total: Decimal
    advance: Decimal
    balance: Decimal
    counts_as_of: str = ""
    counts_basis: str = ""
    advance_granted: Decimal | None = None
    amount: Decimal | None = None
    vat_rate: Decimal | None = None
    vat: Decimal | None = None
    amount_to_pay: Decimal | None = None
    snapshot: dict | None = None
    frozen: bool = True

    @classmethod
    def from_dict(cls, data, *, frozen):
        sources = data.get("count_sources") or {}
        lines = [
            {
                "type": line["type"],
                "count": line["count"],
                "rate": _dec(line["rate"]),
                "amount": _dec(line["amount"]),
                "source": _source_view(sources.get(line["type"])),
            }
            for line in data["lines"]
        ]
        return cls(
            schedule=data["schedule"],
            lines=lines,
            base=_dec(data["base"]),
            subtotal=_dec(data["subtotal"]),
            cap=_dec(data["cap"]),
            capped=data["capped"],
            total=_dec(data["total"]),
            advance=_dec(data["advance"]),
            balance=_dec(data["balance"]),
            counts_as_of=_french_date(data.get("counts_as_of", "")),
            counts_basis=data.get("counts_basis", ""),
            advance_granted=_dec(data.get("advance_granted", data.get("advance_paid"))),
            amount=_dec(data.get("amount")),
            vat_rate=_dec(data.get("vat_rate")),
            vat=_dec(data.get("vat")),
            amount_to_pay=_dec(data.get("amount_to_pay")),
            snapshot=_snapshot_view(data.get("snapshot")),
            frozen=frozen,
        )


def _source_view(source):
    """A count's source as the page shows it: label, date, detail, and the figures it prevailed over."""
    if not source:
        return None
    return {
        "label": source.get("label", ""),
        "as_of": _french_date(source.get("as_of") or ""),
        "detail": source.get("detail", ""),
        "overridden": [
            {**other, "as_of": _french_date(other.get("as_of") or "")} for other in source.get("overridden", [])
        ],
    }


def _snapshot_view(snapshot):
    """The extraction read, with its day and generation time in Paris words."""
    if not snapshot:
        return None
    generated = snapshot.get("generated_at")
    if generated:
        moment = timezone.localtime(datetime.fromisoformat(generated), PARIS)
        generated = f"{moment:%d/%m/%Y à %H:%M} (heure de Paris)"
    return {**snapshot, "as_of": _french_date(snapshot.get("as_of")), "generated_at": generated}


def _french_date(iso):
    try:
        return paris_date(date.fromisoformat(iso))
    except (TypeError, ValueError):
        return iso or ""
