"""The agents' task « proposer un indu »: an advance paid whose balance was not filed by the operator's
effective balance deadline (claims.selectors.advances_to_recover), in the admin filter, the dashboard
and the notice form."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from claims import recoveries, selectors, services
from funding.calendar import paris_today
from funding.models import Campaign
from tests.factories import agent, claim_in_state, ready_balance, segur_campaign, validator

pytestmark = pytest.mark.django_db


def close_balance_window(campaign, days_ago=1):
    """Both filing deadlines `days_ago` days ago (the balance's may not precede the advance's)."""
    day = paris_today() - timedelta(days=days_ago)
    Campaign.objects.filter(pk=campaign.pk).update(advance_deadline=day, balance_deadline=day)
    campaign.refresh_from_db()


def paid_advance_past_balance_deadline():
    advance, user = claim_in_state("paid")
    close_balance_window(advance.campaign)
    return advance, user


def to_propose(at=None):
    return set(selectors.advances_to_recover(user=agent(), at=at).values_list("pk", flat=True))


def test_a_paid_advance_without_balance_after_the_deadline_is_a_recovery_to_propose():
    advance, _ = claim_in_state("paid")
    deadline = advance.campaign.balance_deadline
    assert to_propose() == set()  # the balance may still be filed
    end_of_deadline_day = timezone.now() + timedelta(days=(deadline - paris_today()).days)
    assert to_propose(at=end_of_deadline_day) == set()  # the deadline day itself is still open
    assert to_propose(at=end_of_deadline_day + timedelta(days=1)) == {advance.pk}


def test_only_agents_see_the_task():
    advance, user = paid_advance_past_balance_deadline()
    assert selectors.advances_to_recover(user=user).count() == 0
    assert selectors.advances_to_recover(user=validator()).get() == advance


def test_an_extension_of_the_balance_deadline_is_honoured_with_the_same_rule():
    advance, _ = paid_advance_past_balance_deadline()
    services.deadline_extension_grant(
        operator=advance.operator,
        campaign=advance.campaign,
        kind="balance",
        new_deadline=paris_today() + timedelta(days=3),
        reason="Incident technique.",
        actor=validator(),
    )
    assert to_propose() == set()
    later = timezone.now() + timedelta(days=4)
    row = selectors.advances_to_recover(user=agent(), at=later).get()
    # One home for the deadline: the annotation equals the function the portal and the guards call.
    assert row.balance_deadline == selectors.effective_deadline(
        operator=advance.operator, campaign=advance.campaign, kind="balance"
    )


def test_a_balance_filed_takes_the_advance_off_the_list_a_draft_does_not():
    advance, user = claim_in_state("paid")
    balance = ready_balance(advance, user)
    later = timezone.now() + timedelta(days=(advance.campaign.balance_deadline - paris_today()).days + 1)
    assert to_propose(at=later) == {advance.pk}  # a draft is not a filing
    services.claim_submit(claim=balance, actor=user)
    assert to_propose(at=later) == set()


def test_a_recovery_opened_takes_the_advance_off_the_list_until_it_is_cancelled():
    advance, _ = paid_advance_past_balance_deadline()
    case = recoveries.recovery_open(claim=advance, amount=10, grounds="Solde non déposé.", actor=agent())
    assert to_propose() == set()
    recoveries.recovery_cancel(recovery=case, reason="Montant erroné.", actor=validator())
    assert to_propose() == {advance.pk}


def test_admin_filter_dashboard_count_and_prefilled_notice(client):
    claim_in_state("paid", campaign=segur_campaign("other-campaign"))  # still within its deadline
    advance, _ = paid_advance_past_balance_deadline()
    client.force_login(agent())

    changelist = client.get(reverse("admin:claims_claim_changelist") + "?indu=a_proposer")
    assert list(changelist.context["cl"].result_list) == [advance]

    dashboard = client.get(reverse("admin:claims_dashboard"))
    row = next(c for c in dashboard.context["campaigns"] if c["campaign"] == advance.campaign)
    assert row["recoveries_to_propose"] == 1
    assert "indu=a_proposer" in dashboard.content.decode()

    page = client.get(reverse("admin:claims_claim_change", args=[advance.pk])).content.decode()
    assert 'id="recovery-proposal"' in page
    assert f'value="{advance.payment.amount}"' in page  # the whole advance paid, VAT included
    # The form posts to the existing notice (recovery_open): the task is then done.
    client.post(
        reverse("admin:claims_claim_recovery", args=[advance.pk]),
        {"amount": str(advance.payment.amount), "grounds": "Solde non déposé."},
    )
    assert to_propose() == set()
