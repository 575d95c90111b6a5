"""The agents' dashboard on a fixed data set: granted, ordered, paid and remaining, in amounts to pay."""

from decimal import Decimal

import pytest
from django.urls import reverse

from claims import payments
from claims.dashboard import campaign_dashboard
from funding.calendar import paris_today
from tests.claims.bank_files import camt054
from tests.factories import agent, approved_claim, batch_of, claim_in_state, line_of, validator

pytestmark = pytest.mark.django_db


def today():
    return paris_today().isoformat()


def test_granted_ordered_paid_and_remaining_read_the_claims_and_their_payment_attempts(client):
    not_ordered = approved_claim()
    ordered = approved_claim()
    booked = approved_claim()
    returned = approved_claim()
    submitted, _ = claim_in_state("submitted")  # not granted yet
    batch_of(ordered, booked, returned)
    ok, back = line_of(booked), line_of(returned)
    payments.bank_return_import(
        content=camt054(entries=[
            {"e2e": ok.end_to_end_id, "amount": ok.transfer_amount, "booked_on": today()},
            {"e2e": back.end_to_end_id, "amount": back.transfer_amount, "booked_on": today()},
        ]),
        file_name="booked.xml",
    )  # fmt: skip
    payments.bank_return_import(
        content=camt054(
            msg_id="NTF-0002",
            entries=[
                {"e2e": back.end_to_end_id, "amount": back.transfer_amount, "booked_on": today(), "reason": "AC04"}
            ],
        ),
        file_name="returned.xml",
    )
    [figures] = [c for c in campaign_dashboard(user=agent()) if c["campaign"] == booked.campaign]
    granted = [not_ordered, ordered, booked, returned]
    assert figures["granted"] == sum(c.amount for c in granted)
    assert figures["granted_to_pay"] == sum(c.amount_to_pay for c in granted)
    assert figures["ordered"] == ordered.amount_to_pay  # the returned transfer is payable again, not ordered
    assert figures["paid"] == booked.amount_to_pay  # the returned payment no longer counts
    assert figures["paid_excl_vat"] == booked.amount
    assert figures["remaining"] == sum(c.amount_to_pay for c in granted) - booked.amount_to_pay
    assert submitted.amount_to_pay > Decimal("0")  # real money, yet not granted
    client.force_login(validator())
    page = client.get(reverse("admin:claims_dashboard")).content.decode()
    assert "ordonnés, en attente de confirmation de la banque" in page
