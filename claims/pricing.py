"""The amount of a claim (docs/spec/SPEC.md §2): one home for the freeze at submission, the portal's estimate and
the admin. Reads only; the freeze's writes (counted addresses) stay in `funding.services`.

- an advance is priced on the counts established on its filing day (Paris), each figure at most
  `campaign.count_max_age_days` old: advance share × formula;
- a balance on the counts at the campaign's closure (closure snapshot, figures dated the closure
  day): formula − the approved advance;
- VAT is added, rounded half-up on the claim's excl.-VAT amount, at the campaign's rate for an
  operator liable to VAT, unless the campaign pays excl. VAT only.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from claims import selectors
from claims.enums import ClaimKind
from claims.models import Claim
from funding import selectors as funding_selectors
from funding.calendar import paris_today
from funding.formula import compute_breakdown, vat_on

ZERO = Decimal("0")


def counting_basis(claim: Claim, *, at: datetime | None = None) -> funding_selectors.CountBasis:
    """Where the claim's counts are read (funding.selectors.CountBasis)."""
    if claim.kind == ClaimKind.ADVANCE:
        return funding_selectors.basis_on(paris_today(at=at), max_age_days=claim.campaign.count_max_age_days)
    return funding_selectors.closure_basis(claim.campaign)


def vat_rate_for(claim: Claim) -> Decimal:
    """The VAT rate added to the claim's excl.-VAT amount: none for an operator declared not liable, or
    when the campaign pays excl. VAT only."""
    campaign = claim.campaign
    if not campaign.pays_vat or not claim.operator.vat_liable:
        return ZERO
    return campaign.vat_rate


@dataclass(frozen=True)
class Pricing:
    counts: dict[str, int]
    schedule_code: str
    breakdown: dict[str, object]
    funded_total: Decimal
    amount: Decimal
    vat_rate: Decimal
    vat: Decimal
    amount_to_pay: Decimal

    def as_fields(self) -> dict[str, object]:
        """The Claim fields the freeze writes."""
        return {
            "counts": self.counts,
            "schedule_code": self.schedule_code,
            "breakdown": self.breakdown,
            "funded_total": self.funded_total,
            "amount": self.amount,
            "vat_rate": self.vat_rate,
            "vat": self.vat,
            "amount_to_pay": self.amount_to_pay,
        }


def price(
    claim: Claim,
    *,
    counts: dict[str, int],
    sources: dict[str, dict[str, object]],
    basis: funding_selectors.CountBasis,
) -> Pricing:
    """Price `claim` on `counts` {type: int} (every type established) read on `basis`."""
    schedule = claim.campaign.schedule_for(claim.operator.kind)
    breakdown = compute_breakdown(schedule=schedule, counts=counts)
    frozen = breakdown.as_dict()
    frozen["counts_as_of"] = basis.day.isoformat()
    frozen["counts_basis"] = basis.label
    frozen["count_sources"] = sources
    if basis.snapshot is not None:
        frozen["snapshot"] = {
            "file_name": basis.snapshot.file_name,
            "as_of": basis.snapshot.as_of.isoformat(),
            "generated_at": basis.snapshot.generated_at.isoformat() if basis.snapshot.generated_at else None,
            "sha256": basis.snapshot.sha256,
        }
    if claim.kind == ClaimKind.ADVANCE:
        amount = breakdown.advance
    else:
        advance = selectors.approved_advance(operator=claim.operator, campaign=claim.campaign)
        granted = advance.amount if advance is not None else ZERO
        assert granted is not None, "an approved advance has its amount frozen since its filing"
        frozen["advance_granted"] = f"{granted:.2f}"
        amount = breakdown.total - granted
    rate = vat_rate_for(claim)
    vat = vat_on(amount, rate)
    frozen["amount"] = f"{amount:.2f}"
    frozen["vat_rate"] = f"{rate:.4f}"
    frozen["vat"] = f"{vat:.2f}"
    frozen["amount_to_pay"] = f"{amount + vat:.2f}"
    return Pricing(
        counts={line.type: line.count for line in breakdown.lines},
        schedule_code=schedule.code,
        breakdown=frozen,
        funded_total=breakdown.total,
        amount=amount,
        vat_rate=rate,
        vat=vat,
        amount_to_pay=amount + vat,
    )


def estimate(claim: Claim, *, at: datetime | None = None) -> Pricing | None:
    """What the claim would be priced at if it were filed now, or None while a type has no figure.

    Same rule and function as the freeze; only the transferred-park exclusion, which the freeze
    applies against the other operators' approved claims, is not simulated here.
    """
    basis = counting_basis(claim, at=at)
    lines = funding_selectors.count_lines_at(operator=claim.operator, basis=basis)
    if funding_selectors.missing_types(lines):
        return None
    return price(
        claim,
        counts={kind: line.count for kind, line in lines.items()},
        sources={kind: line.as_dict() for kind, line in lines.items()},
        basis=basis,
    )
