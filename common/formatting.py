"""The one French presentation of money, counts and ratios: screens, e-mails, letters, admin, commands.

`euros(Decimal("1234.5"))` → "1 234,50 €", `count(12345)` → "12 345", `percent(Decimal("0.125"))`
→ "12,5 %": digits grouped by three with a narrow no-break space (U+202F), a decimal comma, a
no-break space (U+00A0) before the unit, the minus sign U+2212 for negative figures and "—" for a
missing value; `spreadsheet_decimal` for CSV amounts and `spreadsheet_text` for every text cell of a
CSV or XLSX export (never read as a formula); `paris_datetime` for an instant as Paris wall-clock
time (histories, e-mails), `paris_date` for a calendar day ("01/12/2026"). Every other place calls these
(tests/common/test_formatting.py fails when another formatter appears; templates use
`{% load formatting %}`).
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeVar
from zoneinfo import ZoneInfo

from django.utils import timezone

NNBSP = "\u202f"  # between groups of three digits
NBSP = "\u00a0"  # between a figure and its unit
MINUS = "\u2212"
MISSING = "—"
PARIS = ZoneInfo("Europe/Paris")

# What the formatters accept as a figure: a float is read through its shortest repr.
Numeric = Decimal | int | float | str
T = TypeVar("T")


def _decimal(value: Numeric) -> Decimal:
    if isinstance(value, float):
        value = str(value)  # the shortest repr, not the binary expansion
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a number: {value!r}")
    return number


def _rounded(value: Numeric, places: int) -> Decimal:
    return _decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def number(value: Numeric | None, places: int = 0) -> str:
    """`value` rounded half-up to `places` decimals: "1 234 567,89", "−3", "—" when None or ""."""
    if value is None or value == "":
        return MISSING
    rounded = _rounded(value, places)
    units, _, decimals = f"{abs(rounded):f}".partition(".")
    head = len(units) % 3 or 3
    grouped = NNBSP.join([units[:head]] + [units[i : i + 3] for i in range(head, len(units), 3)])
    sign = MINUS if rounded < 0 else ""  # never "−0,00"
    return f"{sign}{grouped},{decimals}" if decimals else f"{sign}{grouped}"


def euros(amount: Numeric | None) -> str:
    """An amount in euros to the cent: "1 234,56 €", "−12,00 €", "—" when None or ""."""
    text = number(amount, 2)
    return text if text == MISSING else f"{text}{NBSP}€"


def count(value: Numeric | None) -> str:
    """A whole number (mailboxes, rows, claims): "12 345"; a fraction is a programming error."""
    if value is not None and value != "" and _decimal(value) != _decimal(value).to_integral_value():
        raise ValueError(f"not a whole number: {value!r}")
    return number(value)


def percent(ratio: Numeric | None, places: int = 1) -> str:
    """A ratio as a percentage: Decimal("0.125") → "12,5 %"."""
    if ratio is None or ratio == "":
        return MISSING
    return f"{number(_decimal(ratio) * 100, places)}{NBSP}%"


def vat_rate(rate: Numeric | None) -> str:
    """A tax rate held as a fraction, without needless decimals: Decimal("0.2000") → "20 %", 0.055 → "5,5 %"."""
    if rate is None or rate == "":
        return MISSING
    percent_value = (_decimal(rate) * 100).normalize()
    exponent = percent_value.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite number (checked by _decimal), never "n" or "F"
    places = min(2, max(0, -exponent))
    return f"{number(percent_value, places)}{NBSP}%"


def spreadsheet_decimal(amount: Numeric | None) -> str:
    """A CSV cell for French spreadsheets: "1234,56", no grouping (so it stays a number), "" when None."""
    if amount is None or amount == "":
        return ""
    return f"{_rounded(amount, 2):f}".replace(".", ",")


# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: T) -> T | str:
    """A text cell of a CSV or XLSX export that no spreadsheet evaluates: a string starting with `=`,
    `+`, `-`, `@`, tab or carriage return gets a leading apostrophe (OWASP's advice), so that
    `=HYPERLINK(…)` is shown as typed. Anything that is not a string (numbers, dates, None) is
    returned unchanged: amounts and counts stay numbers. Every export calls this (one home)."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def masked_iban(iban: str | None) -> str:
    """An IBAN shown without its middle: "FR76 •••• •••• 0189" (country and check digits, last four);
    "—" when there is none. Screens never show a full account number."""
    compact = "".join((iban or "").split()).upper()
    if not compact:
        return MISSING
    if len(compact) <= 8:
        return "•••• " + compact[-4:]
    return f"{compact[:4]} •••• •••• {compact[-4:]}"


def paris_datetime(value: datetime | None) -> str:
    """An instant in Paris wall-clock time, whatever the active time zone: "01/12/2026 14:09" (an
    aware datetime stored in UTC), "—" when None (or "", from a template)."""
    if not value:
        return MISSING
    return timezone.localtime(value, PARIS).strftime("%d/%m/%Y %H:%M")


def paris_date(value: date | None) -> str:
    """A calendar day as "01/12/2026" (an aware datetime: its day in Paris), "—" when None."""
    if value is None:
        return MISSING
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value, PARIS)
    return value.strftime("%d/%m/%Y")
