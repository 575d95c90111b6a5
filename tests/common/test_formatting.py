"""The product's one money and count format (common.formatting), and a guard against any other."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.template import Context, Template

from common.formatting import count, euros, number, percent, spreadsheet_decimal

NNBSP, NBSP, MINUS = "\u202f", "\u00a0", "\u2212"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("1234.56"), f"1{NNBSP}234,56{NBSP}€"),
        (Decimal("0"), f"0,00{NBSP}€"),
        (Decimal("12.5"), f"12,50{NBSP}€"),
        (Decimal("999.995"), f"1{NNBSP}000,00{NBSP}€"),  # half-up to the cent
        (Decimal("0.005"), f"0,01{NBSP}€"),
        (Decimal("1234567.891"), f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
        (Decimal("-1234.56"), f"{MINUS}1{NNBSP}234,56{NBSP}€"),
        (Decimal("-0.001"), f"0,00{NBSP}€"),  # no "−0,00 €"
        (250000, f"250{NNBSP}000,00{NBSP}€"),
        (0.1 + 0.2, f"0,30{NBSP}€"),
        ("28000.00", f"28{NNBSP}000,00{NBSP}€"),  # the API's money strings
        (Decimal("1E+3"), f"1{NNBSP}000,00{NBSP}€"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_euros_is_french_with_narrow_groups_and_a_no_break_space_before_the_sign(amount, text):
    assert euros(amount) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1000, f"1{NNBSP}000"),
        (12345, f"12{NNBSP}345"),
        (10_000_000, f"10{NNBSP}000{NNBSP}000"),
        (-12345, f"{MINUS}12{NNBSP}345"),
        ("700", "700"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_count_groups_digits_by_three(value, text):
    assert count(value) == text


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", object()])
def test_a_value_that_is_not_a_number_is_a_programming_error(bad):
    with pytest.raises(ValueError):
        euros(bad)
    with pytest.raises(ValueError):
        count(bad)


def test_count_refuses_a_fraction():
    with pytest.raises(ValueError):
        count(Decimal("1.5"))


@pytest.mark.parametrize(
    ("ratio", "text"),
    [(Decimal("0.125"), f"12,5{NBSP}%"), (Decimal("8"), f"800,0{NBSP}%"), (Decimal("-0.5"), f"{MINUS}50,0{NBSP}%")],
)
def test_percent_shows_a_ratio_with_one_decimal(ratio, text):
    assert percent(ratio) == text
    assert percent(None) == "—"


def test_number_rounds_half_up_to_the_places_asked():
    assert number(Decimal("2.345"), 2) == "2,35"
    assert number(Decimal("12345.5")) == f"12{NNBSP}346"


@pytest.mark.parametrize(
    ("amount", "text"), [(Decimal("14332.97"), "14332,97"), (Decimal("-5"), "-5,00"), (None, ""), (3, "3,00")]
)
def test_spreadsheet_decimal_keeps_a_plain_number_with_a_decimal_comma(amount, text):
    assert spreadsheet_decimal(amount) == text


def test_template_filters_of_admin_and_portal_are_the_same_formatter():
    admin = Template("{% load formatting %}{{ a|euros }} / {{ n|count }} / {{ none|euros }}")
    portal = Template("{% load portail %}{{ a|euros }} / {{ n|count }} / {{ none|euros }}")
    context = Context({"a": Decimal("228000"), "n": 40000, "none": None})
    expected = f"228{NNBSP}000,00{NBSP}€ / 40{NNBSP}000 / —"
    assert admin.render(context) == portal.render(context) == expected


# --- Guard: no other formatter in the product -------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["claims", "common", "config", "demo", "funding", "operators", "portal", "templates"]
HOME = ROOT / "common" / "formatting.py"
SPACES = r"(?: |\\u202f|\\u00a0|\u202f|\u00a0)"
FORBIDDEN = {
    "Django's floatformat / humanize": re.compile(r"floatformat|intcomma|humanize"),
    "a format spec grouping thousands ({x:,} {x:>12,.2f})": re.compile(
        r":[<>^=]?[-+ ]?#?0?\d*[,_](?:\.\d+)?[a-zA-Z%]?\}"
    ),
    "digit grouping by .replace(',', ' ')": re.compile(r"""\.replace\(\s*['"],['"]\s*,\s*['"]""" + SPACES + """['"]"""),
    "a decimal comma by .replace('.', ',')": re.compile(r"""\.replace\(\s*['"]\.['"]\s*,\s*['"],['"]"""),
    "a raw value followed by €": re.compile(r"\}\}?[ \u00a0\u202f]*€"),
}


def product_sources():
    for folder in PRODUCT:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in {".py", ".html", ".txt"} and path != HOME and "migrations" not in path.parts:
                yield path


def test_the_guard_recognises_the_formatters_it_forbids():
    samples = [
        '{{ amount|floatformat:"2g" }}',
        'f"{amount:,.2f} €"',
        'f"{line.count:>12,}"',
        'f"{number:,}".replace(",", " ")',
        'f"{rows:_}"',
        'text.replace(",", "\\u202f")',
        'f"{value:.2f}".replace(".", ",")',
        'f"{claim.amount} €"',
        "{{ p.amount }} €",
    ]
    for sample in samples:
        assert any(pattern.search(sample) for pattern in FORBIDDEN.values()), sample
    allowed = ['f"{euros(total)} HT"', 'f"{amount:.2f}"', '{"type": line.type, "count": 1}', "{{ a|euros }}"]
    for sample in allowed:
        assert not any(pattern.search(sample) for pattern in FORBIDDEN.values()), sample


def test_money_and_counts_are_formatted_only_by_common_formatting():
    found = []
    for path in product_sources():
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for name, pattern in FORBIDDEN.items():
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{line_number}: {name}: {line.strip()}")
    assert found == [], "use common.formatting (or {% load formatting %}):\n" + "\n".join(found)


# --- Guard: calendar days through common.formatting.paris_date --------------------------------------

DAY_FORMAT = re.compile(r":%d/%m/%Y\}|strftime\(\s*[\"']%d/%m/%Y[\"']\s*\)")
DAY_FORMAT_PENDING: set[str] = set()  # none left


def test_the_day_guard_recognises_a_hand_formatted_day():
    assert DAY_FORMAT.search('f"le {deadline:%d/%m/%Y}"')
    assert DAY_FORMAT.search('value.strftime("%d/%m/%Y")')
    assert not DAY_FORMAT.search('f"le {paris_date(deadline)}"')
    assert not DAY_FORMAT.search('input_formats=["%d/%m/%Y", "%Y-%m-%d"]')  # parsing, not display


def test_days_are_formatted_only_by_common_formatting():
    found = []
    for path in product_sources():
        if str(path.relative_to(ROOT)) in DAY_FORMAT_PENDING:
            continue
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if DAY_FORMAT.search(line):
                found.append(f"{path.relative_to(ROOT)}:{line_number}: {line.strip()}")
    assert found == [], "use common.formatting.paris_date:\n" + "\n".join(found)
