"""The factories give what their names promise: each trait's state, reached with its history when built
through the services, and a bare row when written directly."""

import pytest

from claims.enums import ClaimState
from claims.models import ClaimEvent
from operators.enums import EnrolmentState
from tests.factories import CLAIM_STATES, ClaimFactory, ClaimRowFactory, EnrolmentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("state", CLAIM_STATES)
def test_claim_factory_reaches_each_state_through_the_transitions(state):
    claim = ClaimFactory(**{state: True}) if state != "draft" else ClaimFactory()
    assert claim.state == state
    actions = list(ClaimEvent.objects.filter(claim=claim).order_by("seq").values_list("to_state", flat=True))
    assert actions[-1] == state and (state == "draft" or len(actions) >= 2)


def test_claim_row_factory_writes_the_row_alone():
    claim = ClaimRowFactory(state=ClaimState.APPROVED)
    assert claim.state == ClaimState.APPROVED and claim.amount_to_pay == claim.amount + claim.vat
    assert not ClaimEvent.objects.filter(claim=claim).exists()


@pytest.mark.parametrize("state", ["pending", "changes_requested", "validated", "rejected"])
def test_enrolment_factory_reaches_each_state_through_the_services(state):
    enrolment = EnrolmentFactory(state=state)
    assert enrolment.state == EnrolmentState(state)
    assert enrolment.events.count() == (1 if state == "pending" else 2)
