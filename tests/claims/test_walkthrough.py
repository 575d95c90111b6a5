"""Both claims of a developer and of a buyer operator, from draft to paid, with the audit trail."""

from decimal import Decimal

import pytest

from claims import services
from claims.enums import ClaimKind, ClaimState, DocumentKind
from claims.models import Payment
from operators.enums import OperatorKind
from tests.factories import (
    OperatorFactory,
    agent,
    operator_user,
    paid,
    pdf,
    ready_advance,
    ready_balance,
    record_counts,
    segur_campaign,
    validator,
)

pytestmark = pytest.mark.django_db


def walk_both_claims(operator):
    campaign = segur_campaign()
    user = operator_user(operator)
    record_counts(operator, campaign, app=10, org=100, per=1000)
    instructor, payer = agent(), validator()

    advance, _ = ready_advance(operator=operator, campaign=campaign, user=user)
    advance = services.claim_submit(claim=advance, actor=user)
    # 10×58.33 + 100×20.83 + 1000×5 + 6666.67 = 14332.97; advance 30 % = 4299.891 → 4299.89
    assert advance.funded_total == Decimal("14332.97")
    assert advance.amount == Decimal("4299.89")
    assert advance.breakdown["lines"][0] == {"type": "APP", "count": 10, "rate": "58.33", "amount": "583.30"}
    # VAT at the campaign's 20 % on each claim's excl.-VAT amount: 859.978 → 859.98.
    assert (advance.vat_rate, advance.vat, advance.amount_to_pay) == (
        Decimal("0.2000"), Decimal("859.98"), Decimal("5159.87")
    )  # fmt: skip
    advance = paid(advance, instructor=instructor, payer=payer)
    assert advance.state == ClaimState.PAID
    assert (advance.payment.amount, advance.payment.amount_excl_vat) == (Decimal("5159.87"), Decimal("4299.89"))

    balance = ready_balance(advance, user)
    balance = services.claim_submit(claim=balance, actor=user)
    assert balance.amount == Decimal("10033.08")  # 14332.97 − 4299.89
    assert balance.breakdown["advance_granted"] == "4299.89"
    assert (balance.vat, balance.amount_to_pay) == (Decimal("2006.62"), Decimal("12039.70"))  # 2006.616 → 2006.62
    balance = paid(balance, instructor=instructor, payer=payer)
    assert balance.state == ClaimState.PAID

    payments = Payment.objects.filter(claim__operator=operator)
    assert sum(p.amount_excl_vat for p in payments) == Decimal("14332.97")
    # VAT is rounded per claim: 859.98 + 2006.62 = 2866.60 (on the total it would be 2866.59).
    assert sum(p.amount for p in payments) == Decimal("17199.57")
    return advance, balance


@pytest.mark.parametrize("kind", [OperatorKind.DEVELOPER, OperatorKind.BUYER])
def test_operator_walks_advance_and_balance_from_draft_to_paid(kind):
    if kind == OperatorKind.BUYER:
        provider = OperatorFactory(eligible=True)
        operator = OperatorFactory(eligible=True, kind=OperatorKind.BUYER, provider=provider)
    else:
        operator = OperatorFactory(eligible=True)
    advance, balance = walk_both_claims(operator)

    steps = list(advance.events.values_list("action", "from_state", "to_state"))
    documents = 2 if kind == OperatorKind.BUYER else 1
    assert steps == [
        ("create", "draft", "draft"),
        *[("document", "draft", "draft")] * documents,
        ("submit", "draft", "submitted"),
        ("receipt", "submitted", "submitted"),
        ("take", "submitted", "in_review"),
        ("approve", "in_review", "approved"),
        ("letter", "approved", "approved"),
        ("mark_paid", "approved", "paid"),
    ]
    assert [e.action for e in balance.events.order_by("seq")] == [
        "create",
        "document",
        "update",
        "submit",
        "receipt",
        "take",
        "approve",
        "letter",
        "mark_paid",
    ]
    payer_event = advance.events.get(action="mark_paid")
    assert payer_event.actor.username == "valideur1"
    assert payer_event.comment == f"Virement VIR-{advance.pk}"


def test_frozen_amount_does_not_move_when_counts_or_schedule_change_later():
    claim, user = ready_advance()
    claim = services.claim_submit(claim=claim, actor=user)
    frozen = (claim.amount, claim.breakdown)
    record_counts(claim.operator, claim.campaign, app=9999, org=9999, per=9999)
    schedule = claim.campaign.schedule
    schedule.rate_per = Decimal("99.00")
    schedule.save()
    claim.refresh_from_db()
    assert (claim.amount, claim.breakdown) == frozen
    assert claim.schedule_code == "segur-2023"


def test_correction_round_trip_refreezes_the_amount_on_resubmission():
    claim, user = ready_advance()
    claim = services.claim_submit(claim=claim, actor=user)
    instructor = agent()
    claim = services.claim_take(claim=claim, actor=instructor)
    assert claim.assigned_to == instructor
    claim = services.claim_request_changes(claim=claim, actor=instructor, comment="Le rapport est illisible.")
    assert claim.state == ClaimState.CHANGES_REQUESTED
    assert claim.correction_message == "Le rapport est illisible."
    assert claim.correction_due is not None
    services.document_upload(claim=claim, actor=user, kind=DocumentKind.CONFORMITY_REPORT, uploaded_file=pdf())
    record_counts(claim.operator, claim.campaign, app=0, org=0, per=0)
    claim = services.claim_resubmit(claim=claim, actor=user, comment="Rapport remplacé.")
    assert claim.state == ClaimState.SUBMITTED
    assert claim.amount == Decimal("2000.00")  # base only: 6666.67 × 30 %
    assert claim.documents.filter(kind=DocumentKind.CONFORMITY_REPORT).count() == 2


def test_rejected_claim_can_be_reopened_by_a_validator_with_a_reason():
    claim, user = ready_advance()
    claim = services.claim_submit(claim=claim, actor=user)
    instructor = agent()
    claim = services.claim_take(claim=claim, actor=instructor)
    claim = services.claim_reject(claim=claim, actor=instructor, comment="Rapport non conforme.")
    assert claim.decision_reason == "Rapport non conforme."
    claim = services.claim_reopen(claim=claim, actor=validator(), comment="Erreur de lecture du rapport.")
    assert claim.state == ClaimState.IN_REVIEW
    assert claim.events.order_by("-seq").first().comment == "Erreur de lecture du rapport."


def test_operator_can_withdraw_a_submitted_claim_and_file_a_new_one():
    claim, user = ready_advance()
    claim = services.claim_submit(claim=claim, actor=user)
    services.claim_withdraw(claim=claim, actor=user, comment="Erreur de pièce.")
    again = services.claim_create(operator=claim.operator, campaign=claim.campaign, kind=ClaimKind.ADVANCE, actor=user)
    assert again.state == ClaimState.DRAFT
