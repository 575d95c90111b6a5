"""Undue payments: the adversarial procedure walked end to end, through the admin and the services."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from claims import recoveries, services
from claims.enums import ClaimState, DocumentKind, RecoveryDecision, RecoveryState
from claims.models import Recovery
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from tests.factories import agent, claim_in_state, paid, ready_advance, ready_balance, record_counts, validator

pytestmark = pytest.mark.django_db


def step(client, case, name, **data):
    return client.post(reverse("admin:claims_recovery_step", args=[case.pk, name]), data, follow=True)


def open_case(client, claim, amount, grounds="Parc client non conforme à la date de clôture."):
    client.post(reverse("admin:claims_claim_recovery", args=[claim.pk]), {"amount": amount, "grounds": grounds})
    return Recovery.objects.get(claim=claim)


def test_recovery_walked_from_notice_to_recovered(client, mailoutbox, django_capture_on_commit_callbacks):
    claim, _user = claim_in_state("paid")
    instructor, payer = agent("instr-r"), validator("valid-r")
    client.force_login(instructor)
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(client, claim, "1000,50")
    assert (case.state, case.amount_notified) == (RecoveryState.NOTIFIED, Decimal("1000.50"))
    assert list(case.payments.all()) == [claim.payment]
    assert any("Indu" in m.body or "indu" in m.body.lower() for m in mailoutbox)

    # No decision before the observations period ends, unless observations are received.
    response = step(client, case, "decide", decision="confirmed", reason="Confirmé.")
    assert any("délai d'observations" in str(m) for m in response.context["messages"])
    step(client, case, "observations", observations="Le parc a été mis à jour le 2 juillet.")
    step(client, case, "decide", decision="reduced", amount="400", reason="Mise à jour tardive partiellement admise.")
    case.refresh_from_db()
    assert (case.state, case.decision, case.amount_due) == (RecoveryState.DECIDED, "reduced", Decimal("400.00"))
    letter = claim.documents.filter(kind=DocumentKind.DECISION_LETTER).order_by("-version").first()
    assert letter is not None and letter.original_name.startswith("décision-relative-à-un-indu")

    client.force_login(payer)
    step(client, case, "order", reference="OR-2026-001")
    step(client, case, "settle", note="Virement reçu le 20/11.")
    case.refresh_from_db()
    assert case.state == RecoveryState.RECOVERED
    actions = list(claim.events.filter(action__startswith="recovery").values_list("action", flat=True))
    assert actions == [
        "recovery_open",
        "recovery_observations",
        "recovery_decision",
        "recovery_order",
        "recovery_settled",
    ]


def test_recovery_waived_after_the_observations_period(client):
    claim, _ = claim_in_state("paid")
    client.force_login(agent("instr-w"))
    case = open_case(client, claim, "500")
    later = timezone.now() + timedelta(days=31)
    case = recoveries.recovery_decide(
        recovery=case, decision=RecoveryDecision.WAIVED, reason="Bonne foi établie.", actor=agent("instr-w"), at=later
    )
    assert (case.state, case.amount_due) == (RecoveryState.WAIVED, Decimal("0.00"))
    with pytest.raises(StateConflict):
        recoveries.recovery_issue_order(recovery=case, reference="OR-1", actor=validator())


def test_recovery_never_exceeds_what_was_paid():
    claim, _ = claim_in_state("paid")
    with pytest.raises(GuardFailed):
        recoveries.recovery_open(claim=claim, amount=claim.amount_to_pay + Decimal("0.01"), grounds="x", actor=agent())
    # In the terms paid: VAT included where the payment carried it.
    recoveries.recovery_open(claim=claim, amount=claim.amount_to_pay - 10, grounds="x", actor=agent())
    with pytest.raises(GuardFailed):  # only 10 € left to claim back
        recoveries.recovery_open(claim=claim, amount=Decimal("10.01"), grounds="y", actor=agent())


def test_recovery_needs_a_payment_grounds_and_an_instructor():
    claim, _ = claim_in_state("approved")
    with pytest.raises(GuardFailed):
        recoveries.recovery_open(claim=claim, amount=1, grounds="x", actor=agent())
    claim, _ = claim_in_state("paid")
    with pytest.raises(InvalidInput):
        recoveries.recovery_open(claim=claim, amount=1, grounds=" ", actor=agent())
    with pytest.raises(NotAllowed):
        recoveries.recovery_open(claim=claim, amount=1, grounds="x", actor=validator())


def test_offset_against_a_later_payment_of_the_same_operator():
    advance, user = claim_in_state("paid")
    case = recoveries.recovery_open(claim=advance, amount=100, grounds="x", actor=agent())
    case = recoveries.recovery_decide(
        recovery=case, decision="confirmed", reason="r", actor=agent(), at=timezone.now() + timedelta(days=31)
    )
    case = recoveries.recovery_issue_order(recovery=case, reference="OR-9", actor=validator())
    balance = paid(services.claim_submit(claim=ready_balance(advance, user), actor=user))
    with pytest.raises(InvalidInput):  # not the payment the case is about
        recoveries.recovery_settle(recovery=case, offset_payment=advance.payment, actor=validator())
    case = recoveries.recovery_settle(recovery=case, offset_payment=balance.payment, actor=validator())
    assert (case.state, case.offset_payment) == (RecoveryState.OFFSET, balance.payment)


def test_validator_cancels_a_case_opened_in_error():
    claim, _ = claim_in_state("paid")
    case = recoveries.recovery_open(claim=claim, amount=1, grounds="x", actor=agent())
    with pytest.raises(InvalidInput):
        recoveries.recovery_cancel(recovery=case, reason="", actor=validator())
    case = recoveries.recovery_cancel(recovery=case, reason="Erreur de saisie.", actor=validator())
    assert case.state == RecoveryState.CANCELLED
    # Cancelled cases no longer count against what may be claimed back.
    recoveries.recovery_open(claim=claim, amount=claim.amount_to_pay, grounds="z", actor=agent())


def test_balance_below_the_advance_opens_a_recovery_on_approval():
    advance, user = ready_advance()
    record_counts(advance.operator, advance.campaign, app=1000, org=10_000, per=20_000)
    advance = paid(services.claim_submit(claim=advance, actor=user))
    # 30 % of the 250 000 € cap, paid with 20 % VAT.
    assert (advance.payment.amount_excl_vat, advance.payment.amount) == (Decimal("75000.00"), Decimal("90000.00"))
    # Counts at closure are corrected downwards: the final total is below the advance paid.
    record_counts(advance.operator, advance.campaign, app=0, org=0, per=0)
    balance = services.claim_submit(claim=ready_balance(advance, user), actor=user)
    assert balance.amount == Decimal("6666.67") - advance.amount  # negative
    assert balance.amount < 0
    instructor = agent("instr-b")
    balance = services.claim_take(claim=balance, actor=instructor)
    balance = services.claim_approve(claim=balance, actor=instructor)
    assert balance.amount == Decimal("-68333.33")
    case = Recovery.objects.get(claim=balance)
    # Recovered in the terms paid: 90 000,00 € paid, 8 000,00 € due (6 666,67 € HT + VAT) → 82 000,00 €.
    assert balance.amount_to_pay == Decimal("-82000.00")
    assert case.amount_notified == Decimal("82000.00")
    assert list(case.payments.all()) == [advance.payment]
    with pytest.raises(GuardFailed):
        services.claim_mark_paid(claim=balance, actor=validator(), reference="VIR")
    assert balance.state == ClaimState.APPROVED
