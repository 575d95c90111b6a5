"""Filing deadlines end at 23:59:59.999999 Europe/Paris on the deadline day, in summer and in winter."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError

from claims import services
from claims.enums import ClaimKind, ClaimState
from common.exceptions import GuardFailed, InvalidInput, NotAllowed
from funding.models import Campaign, FundingSchedule
from tests.factories import OperatorFactory, agent, operator_user, ready_advance, validator

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def campaign_with_advance_deadline(day):
    return Campaign.objects.create(
        code=f"c-{day.isoformat()}",
        label="Test",
        schedule=FundingSchedule.objects.get(code="segur-2023"),
        developer_schedule=FundingSchedule.objects.get(code="segur-2023"),
        opening_date=day - timedelta(days=240),
        closure_date=day - timedelta(days=60),
        advance_deadline=day,
        balance_deadline=day + timedelta(days=30),
    )


@pytest.mark.parametrize(
    "deadline", [date(2023, 9, 22), date(2023, 12, 22)], ids=["summer-time-deadline", "winter-time-deadline"]
)
@pytest.mark.parametrize(("second", "accepted"), [(59, True), (60, False)], ids=["23:59:59", "00:00:00 next day"])
def test_submission_at_the_last_second_of_the_deadline_day(deadline, second, accepted):
    campaign = campaign_with_advance_deadline(deadline)
    claim, user = ready_advance(campaign=campaign, at=datetime(2023, 9, 1, tzinfo=PARIS))
    at = datetime(deadline.year, deadline.month, deadline.day, 23, 59, 59, tzinfo=PARIS) + timedelta(
        seconds=second - 59
    )
    if accepted:
        assert services.claim_submit(claim=claim, actor=user, at=at).state == ClaimState.SUBMITTED
    else:
        with pytest.raises(GuardFailed):
            services.claim_submit(claim=claim, actor=user, at=at)


def test_validator_extension_moves_this_operators_deadline_only():
    deadline = date(2023, 9, 22)
    campaign = campaign_with_advance_deadline(deadline)
    early = datetime(2023, 9, 1, tzinfo=PARIS)
    claim, user = ready_advance(campaign=campaign, at=early)
    other, other_user = ready_advance(campaign=campaign, operator=OperatorFactory(eligible=True), at=early)
    services.deadline_extension_grant(
        operator=claim.operator,
        campaign=campaign,
        kind=ClaimKind.ADVANCE,
        new_deadline=date(2023, 10, 6),
        reason="Panne de la plateforme de tests ANS.",
        actor=validator(),
        at=early,
    )
    late = datetime(2023, 10, 6, 23, 59, 59, tzinfo=PARIS)
    assert services.claim_submit(claim=claim, actor=user, at=late).state == ClaimState.SUBMITTED
    with pytest.raises(GuardFailed):
        services.claim_submit(claim=other, actor=other_user, at=late)
    event = claim.events.get(action="extend_deadline")
    assert "06/10/2023" in event.comment and "Panne" in event.comment


def test_extension_needs_a_validator_a_reason_and_a_later_date():
    claim, _ = ready_advance()
    args = {"operator": claim.operator, "campaign": claim.campaign, "kind": ClaimKind.ADVANCE}
    later = claim.campaign.advance_deadline + timedelta(days=5)
    with pytest.raises(NotAllowed):
        services.deadline_extension_grant(**args, new_deadline=later, reason="x", actor=agent())
    with pytest.raises(InvalidInput):
        services.deadline_extension_grant(**args, new_deadline=later, reason=" ", actor=validator())
    with pytest.raises(InvalidInput):
        services.deadline_extension_grant(
            **args, new_deadline=claim.campaign.advance_deadline, reason="x", actor=validator()
        )


def test_campaign_deadline_order_is_enforced_by_the_database():
    with pytest.raises(IntegrityError):
        Campaign.objects.create(
            code="bad",
            label="Bad",
            schedule=FundingSchedule.objects.get(code="segur-2023"),
            developer_schedule=FundingSchedule.objects.get(code="segur-2023"),
            opening_date=date(2023, 1, 1),
            closure_date=date(2023, 6, 30),
            advance_deadline=date(2023, 10, 1),
            balance_deadline=date(2023, 9, 1),
        )


def test_unused_operator_user_helper_is_scoped():
    # An operator user without membership activity cannot open a claim.
    claim, user = ready_advance()
    user.membership.is_active = False
    user.membership.save()
    with pytest.raises(NotAllowed):
        services.claim_withdraw(claim=claim, actor=user)
    assert operator_user(OperatorFactory()).membership.is_active
