"""A park funded for one operator cannot be approved again for another (re-checked at approval)."""

from collections import Counter

import pytest

from claims import services
from claims.enums import ClaimState
from common.exceptions import GuardFailed
from funding import selectors
from funding.models import CountedDomain, CountedMailbox
from tests.factories import OperatorFactory, claim_in_state

pytestmark = pytest.mark.django_db


def counted(claim, *addresses):
    """What record_counted_mailboxes writes: the addresses and their count per domain."""
    for domain, number in Counter(address.split("@")[1] for address in addresses).items():
        CountedDomain.objects.create(campaign=claim.campaign, operator=claim.operator, domain=domain, count=number)
    CountedMailbox.objects.bulk_create(
        CountedMailbox(
            campaign=claim.campaign,
            operator=claim.operator,
            address=address,
            mailbox_type="PER",
            domain=address.split("@")[1],
        )
        for address in addresses
    )


def test_approval_refused_when_a_counted_mailbox_was_funded_for_another_operator_meanwhile():
    funded, _ = claim_in_state("approved")
    pending, _ = claim_in_state("in_review", operator=OperatorFactory(eligible=True), campaign=funded.campaign)
    counted(funded, "dr.a@park.fr", "dr.b@park.fr")
    counted(pending, "dr.b@park.fr", "dr.c@other.fr")
    with pytest.raises(GuardFailed) as error:
        services.claim_approve(claim=pending, actor=pending.assigned_to)
    assert "1 BAL comptées dans cette demande ont été financées entre-temps" in error.value.message
    pending.refresh_from_db()
    assert pending.state == ClaimState.IN_REVIEW


def test_approval_goes_through_without_overlap():
    funded, _ = claim_in_state("approved")
    pending, _ = claim_in_state("in_review", operator=OperatorFactory(eligible=True), campaign=funded.campaign)
    counted(funded, "dr.a@park.fr")
    counted(pending, "dr.c@other.fr")
    assert services.claim_approve(claim=pending, actor=pending.assigned_to).state == ClaimState.APPROVED


def test_only_parks_whose_domain_both_sides_counted_are_compared(django_assert_max_num_queries):
    """The usual case, no domain in common, costs two small queries whatever the parks' size."""
    funded, _ = claim_in_state("approved")
    pending, _ = claim_in_state("in_review", operator=OperatorFactory(eligible=True), campaign=funded.campaign)
    counted(funded, *(f"dr.{n}@park.fr" for n in range(300)))
    counted(pending, *(f"dr.{n}@other.fr" for n in range(300)))
    scope = {"campaign": funded.campaign, "operator": pending.operator, "other_operator_ids": {funded.operator_id}}
    with django_assert_max_num_queries(2):
        assert selectors.counted_elsewhere(**scope) == 0
    counted(pending, "dr.7@park.fr", "dr.8@park.fr", "dr.9000@park.fr")
    assert selectors.counted_elsewhere(**scope) == 2
