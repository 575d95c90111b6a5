"""The amount of a claim has one home (claims.pricing): the freeze, the portal's estimate and the
checklist all go through it, and VAT is paid only where it is due."""

from decimal import Decimal

import pytest
from django.utils import timezone

from claims import pricing, services, workflow
from funding.models import Campaign, FundingSchedule
from portal import helpers
from tests.factories import OperatorFactory, approved, ready_advance, ready_balance, segur_campaign

pytestmark = pytest.mark.django_db


def test_the_portal_estimate_of_a_draft_is_the_amount_frozen_at_submission():
    claim, user = ready_advance()
    estimate = helpers.claim_breakdown(claim)
    assert estimate is not None and not estimate.frozen
    submitted = services.claim_submit(claim=claim, actor=user)
    assert (estimate.amount, estimate.vat, estimate.amount_to_pay) == (
        submitted.amount, submitted.vat, submitted.amount_to_pay
    )  # fmt: skip
    assert pricing.estimate(claim).breakdown["lines"] == submitted.breakdown["lines"]


def test_a_balance_estimate_deducts_the_approved_advance_like_its_freeze():
    advance, user = ready_advance()
    advance = approved(services.claim_submit(claim=advance, actor=user))
    balance = ready_balance(advance, user)
    estimate = pricing.estimate(balance)
    frozen = services.claim_submit(claim=balance, actor=user)
    assert estimate.amount == frozen.amount == frozen.funded_total - advance.amount
    assert frozen.breakdown["advance_granted"] == f"{advance.amount:.2f}"


def test_an_operator_not_liable_to_vat_is_paid_the_amount_excl_vat():
    operator = OperatorFactory(eligible=True, vat_liable=False)  # a public hospital, say
    claim, user = ready_advance(operator=operator)
    claim = services.claim_submit(claim=claim, actor=user)
    assert (claim.vat_rate, claim.vat, claim.amount_to_pay) == (Decimal("0"), Decimal("0.00"), claim.amount)
    assert claim.breakdown["vat_rate"] == "0.0000"


def test_a_campaign_may_rule_that_it_pays_excl_vat_only():
    campaign = segur_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(pays_vat=False)
    campaign.refresh_from_db()
    claim, user = ready_advance(campaign=campaign)
    claim = services.claim_submit(claim=claim, actor=user)
    assert claim.operator.vat_liable
    assert (claim.vat, claim.amount_to_pay) == (Decimal("0.00"), claim.amount)


def test_the_vat_rate_is_campaign_data():
    campaign = segur_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(vat_rate=Decimal("0.0550"))
    campaign.refresh_from_db()
    claim, user = ready_advance(campaign=campaign)
    claim = services.claim_submit(claim=claim, actor=user)
    # 4 299,89 × 5,5 % = 236,49395 → 236,49
    assert (claim.vat_rate, claim.vat, claim.amount_to_pay) == (
        Decimal("0.0550"),
        Decimal("236.49"),
        Decimal("4536.38"),
    )


def test_the_developers_schedule_prices_a_developer_and_the_buyers_a_buyer():
    campaign = segur_campaign()
    workshop = FundingSchedule.objects.get(code="workshop-2022-03")
    Campaign.objects.filter(pk=campaign.pk).update(developer_schedule=workshop)
    campaign.refresh_from_db()
    developer, user = ready_advance(campaign=campaign)
    developer = services.claim_submit(claim=developer, actor=user)
    provider = OperatorFactory(eligible=True)
    buyer = OperatorFactory(eligible=True, kind="buyer", provider=provider)
    bought, buyer_user = ready_advance(operator=buyer, campaign=campaign)
    bought = services.claim_submit(claim=bought, actor=buyer_user)
    assert (developer.schedule_code, bought.schedule_code) == ("workshop-2022-03", "segur-2023")
    # 10 × 40 + 100 × 15 + 1 000 × 3 + 5 000 = 9 900,00 under the workshop's rates.
    assert developer.funded_total == Decimal("9900.00")


def test_the_portal_checklist_is_the_workflows_filing_guards():
    claim, user = ready_advance()
    _proofs, conditions = helpers.claim_checklist(claim=claim, user=user, at=timezone.now())
    expected = [g for g in workflow.filing_guards(claim) if g is not workflow.required_proofs_present]
    assert [item.label for item in conditions] == [guard.label for guard in expected]
    # Every guard of the submit transition is on the checklist (none checked elsewhere only).
    submit_guards = {workflow.filing_requirements, workflow.filing_window_open}
    assert set(workflow.TRANSITIONS["submit"].guards) == submit_guards
