from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funding.formula import compute_breakdown, with_vat
from funding.models import FundingSchedule

WORKSHOP_EXAMPLES = [
    ({"APP": 700, "ORG": 5000, "PER": 40000}, "228000.00"),
    ({"APP": 5, "ORG": 200, "PER": 12000}, "44200.00"),
    ({"APP": 1, "ORG": 100, "PER": 900}, "9240.00"),
]


def workshop():
    return FundingSchedule(
        code="workshop-2022-03",
        rate_app=Decimal("40.00"),
        rate_org=Decimal("15.00"),
        rate_per=Decimal("3.00"),
        base=Decimal("5000.00"),
        cap=Decimal("300000.00"),
        advance_share=Decimal("0.30"),
    )


def segur():
    return FundingSchedule(
        code="segur-2023",
        rate_app=Decimal("58.33"),
        rate_org=Decimal("20.83"),
        rate_per=Decimal("5.00"),
        base=Decimal("6666.67"),
        cap=Decimal("250000.00"),
        advance_share=Decimal("0.30"),
    )


@pytest.mark.parametrize(("counts", "total"), WORKSHOP_EXAMPLES)
def test_workshop_examples_come_out_to_the_cent(counts, total):
    assert compute_breakdown(schedule=workshop(), counts=counts).total == Decimal(total)


def test_breakdown_lists_each_type_then_base_advance_and_balance():
    result = compute_breakdown(schedule=workshop(), counts={"APP": 700, "ORG": 5000, "PER": 40000}).as_dict()
    assert result == {
        "schedule": "workshop-2022-03",
        "lines": [
            {"type": "APP", "count": 700, "rate": "40.00", "amount": "28000.00"},
            {"type": "ORG", "count": 5000, "rate": "15.00", "amount": "75000.00"},
            {"type": "PER", "count": 40000, "rate": "3.00", "amount": "120000.00"},
        ],
        "base": "5000.00",
        "subtotal": "228000.00",
        "cap": "300000.00",
        "capped": False,
        "total": "228000.00",
        "advance": "68400.00",
        "balance": "159600.00",
    }


def test_no_mailbox_gives_the_base_only():
    result = compute_breakdown(schedule=segur(), counts={})
    assert result.total == Decimal("6666.67")
    assert result.advance == Decimal("2000.00")  # 2000.001 rounded half-up
    assert result.balance == Decimal("4666.67")


def test_cap_applies_above_it():
    result = compute_breakdown(schedule=segur(), counts={"APP": 700, "ORG": 5000, "PER": 40000})
    assert result.subtotal == Decimal("351647.67")
    assert result.capped is True
    assert result.total == Decimal("250000.00")
    assert result.advance + result.balance == result.total


def test_segur_rates_are_the_excl_vat_forms_of_round_incl_vat_figures():
    # 70 / 25 / 6 € and 8 000 € incl. VAT; the cap is 300 000 € incl. VAT.
    assert with_vat(Decimal("58.33"), Decimal("0.20")) == Decimal("70.00")
    assert with_vat(Decimal("20.83"), Decimal("0.20")) == Decimal("25.00")
    assert with_vat(Decimal("5.00"), Decimal("0.20")) == Decimal("6.00")
    assert with_vat(Decimal("6666.67"), Decimal("0.20")) == Decimal("8000.00")
    assert with_vat(Decimal("250000.00"), Decimal("0.20")) == Decimal("300000.00")


def test_half_cent_products_round_half_up():
    schedule = segur()
    schedule.rate_per = Decimal("0.005")
    assert compute_breakdown(schedule=schedule, counts={"PER": 1}).lines[2].amount == Decimal("0.01")


def test_negative_count_is_refused():
    with pytest.raises(ValueError, match="negative"):
        compute_breakdown(schedule=segur(), counts={"APP": -1})


counts_strategy = st.fixed_dictionaries(
    {"APP": st.integers(0, 10_000_000), "ORG": st.integers(0, 10_000_000), "PER": st.integers(0, 10_000_000)}
)


@settings(deadline=None)
@given(counts=counts_strategy, schedule=st.sampled_from([workshop(), segur()]))
def test_total_is_between_min_of_base_and_cap_and_the_cap(counts, schedule):
    result = compute_breakdown(schedule=schedule, counts=counts)
    assert result.total <= schedule.cap
    assert result.total >= min(schedule.base, schedule.cap)
    assert result.advance + result.balance == result.total
    assert result.total == result.total.quantize(Decimal("0.01"))


@settings(deadline=None)
@given(
    counts=counts_strategy,
    grown=st.sampled_from(["APP", "ORG", "PER"]),
    more=st.integers(1, 1_000_000),
    schedule=st.sampled_from([workshop(), segur()]),
)
def test_total_never_decreases_when_a_count_grows(counts, grown, more, schedule):
    before = compute_breakdown(schedule=schedule, counts=counts).total
    after = compute_breakdown(schedule=schedule, counts={**counts, grown: counts[grown] + more}).total
    assert after >= before
