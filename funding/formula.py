"""The funding formula (docs/spec/SPEC.md §2), as one pure function over `Decimal`.

amount = min(Σ rate(t) × count(t) + base, cap); each product and the total are
rounded half-up to the cent; advance = round(total × advance share); balance = total − advance.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from funding.enums import MailboxType

CENT = Decimal("0.01")

# What `Decimal()` accepts exactly: amounts and rates held as Decimal, int or their text (never float).
DecimalLike = Decimal | int | str


class Schedule(Protocol):
    """What the formula reads of a schedule (a FundingSchedule, or a test's stand-in)."""

    @property
    def code(self) -> str: ...
    @property
    def base(self) -> DecimalLike: ...
    @property
    def cap(self) -> DecimalLike: ...
    @property
    def advance_share(self) -> DecimalLike: ...
    def rate_for(self, mailbox_type: str, /) -> DecimalLike: ...


def to_cents(amount: DecimalLike) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def vat_on(amount: DecimalLike, rate: DecimalLike) -> Decimal:
    """The VAT on an excl.-VAT amount at `rate` (a fraction held as data on the campaign), half-up to
    the cent; negative for a negative amount (a balance below the advance)."""
    return to_cents(Decimal(amount) * Decimal(rate))


def with_vat(amount: DecimalLike, rate: DecimalLike) -> Decimal:
    """The VAT-inclusive figure of an excl.-VAT amount."""
    return to_cents(amount) + vat_on(amount, rate)


@dataclass(frozen=True)
class BreakdownLine:
    type: str
    count: int
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Breakdown:
    schedule: str
    lines: tuple[BreakdownLine, ...]
    base: Decimal
    subtotal: Decimal
    cap: Decimal
    capped: bool
    total: Decimal
    advance: Decimal
    balance: Decimal

    def as_dict(self) -> dict[str, object]:
        """The public JSON shape (docs/spec/SPEC.md §6): money as strings with two decimals."""
        return {
            "schedule": self.schedule,
            "lines": [
                {"type": line.type, "count": line.count, "rate": f"{line.rate:.2f}", "amount": f"{line.amount:.2f}"}
                for line in self.lines
            ],
            "base": f"{self.base:.2f}",
            "subtotal": f"{self.subtotal:.2f}",
            "cap": f"{self.cap:.2f}",
            "capped": self.capped,
            "total": f"{self.total:.2f}",
            "advance": f"{self.advance:.2f}",
            "balance": f"{self.balance:.2f}",
        }


def compute_breakdown(*, schedule: Schedule, counts: Mapping[str, int]) -> Breakdown:
    """Compute the funding of one operator under `schedule` for `counts` {type: int ≥ 0}.

    `schedule` is any object with `code`, `rate_for(type)`, `base`, `cap`, `advance_share`.
    Missing types count as zero; negative counts are a programming error here (inputs are
    validated at the edges).
    """
    lines = []
    for mailbox_type in MailboxType:
        count = int(counts.get(mailbox_type.value, 0))
        if count < 0:
            raise ValueError(f"negative count for {mailbox_type.value}")
        rate = Decimal(schedule.rate_for(mailbox_type))
        lines.append(BreakdownLine(type=mailbox_type.value, count=count, rate=rate, amount=to_cents(rate * count)))
    base = to_cents(schedule.base)
    cap = to_cents(schedule.cap)
    subtotal = to_cents(sum((line.amount for line in lines), Decimal("0")) + base)
    capped = subtotal > cap
    total = cap if capped else subtotal
    advance = to_cents(total * Decimal(schedule.advance_share))
    return Breakdown(
        schedule=schedule.code,
        lines=tuple(lines),
        base=base,
        subtotal=subtotal,
        cap=cap,
        capped=capped,
        total=total,
        advance=advance,
        balance=total - advance,
    )
