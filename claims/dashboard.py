"""Figures for the agents' dashboard: per campaign, by state, granted vs paid vs remaining (amounts to pay)."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum

from claims import selectors
from claims.enums import OPEN_RECOVERY_STATES, AttemptState, ClaimState
from claims.models import Claim, Payment, PaymentAttempt, Recovery
from funding.calendar import paris_today
from funding.models import Campaign


def campaign_dashboard(*, user):
    """One dict per campaign; a constant number of queries whatever the number of claims."""
    today = paris_today()
    by_state = defaultdict(dict)
    for row in Claim.objects.values("campaign_id", "state").annotate(n=Count("id"), total=Sum("amount")):
        by_state[row["campaign_id"]][row["state"]] = (row["n"], row["total"] or Decimal("0"))

    # Granted ("accordé", SPEC §1): claims approved or paid, excl. VAT and to pay. A negative balance
    # is not granted money: its undue part shows under the recoveries.
    granted = {
        row["campaign_id"]: row
        for row in Claim.objects.filter(state__in=(ClaimState.APPROVED, ClaimState.PAID), amount__gte=0)
        .values("campaign_id")
        .annotate(excl_vat=Sum("amount"), to_pay=Sum("amount_to_pay"))
    }
    # Paid: settled payments only (a transfer the bank returned no longer counts). Ordered: batch lines
    # sent or about to be, not yet confirmed — part of what remains to pay.
    paid = {
        row["claim__campaign_id"]: row
        for row in Payment.objects.settled()
        .values("claim__campaign_id")
        .annotate(to_pay=Sum("amount"), excl_vat=Sum("amount_excl_vat"))
    }
    ordered = dict(
        PaymentAttempt.objects.filter(state=AttemptState.ORDERED)
        .values_list("claim__campaign_id")
        .annotate(total=Sum("amount_to_pay"))
        .values_list("claim__campaign_id", "total")
    )
    recovering = dict(
        Recovery.objects.filter(state__in=OPEN_RECOVERY_STATES)
        .values_list("claim__campaign_id")
        .annotate(total=Sum("amount_notified"))
        .values_list("claim__campaign_id", "total")
    )
    action = dict(
        Claim.objects.values_list("campaign_id")
        .annotate(
            n=Count(
                "id",
                filter=Q(state=ClaimState.SUBMITTED)
                | Q(state=ClaimState.IN_REVIEW, assigned_to=user)
                | Q(state=ClaimState.APPROVED),
            )
        )
        .values_list("campaign_id", "n")
    )
    overdue = dict(
        Claim.objects.values_list("campaign_id")
        .annotate(n=Count("id", filter=Q(state=ClaimState.CHANGES_REQUESTED, correction_due__lt=today)))
        .values_list("campaign_id", "n")
    )
    # The agents' task « proposer un indu »: paid advances without a balance past its deadline.
    to_propose = dict(
        selectors.advances_to_recover(user=user)
        .order_by()
        .values_list("campaign_id")
        .annotate(n=Count("id"))
        .values_list("campaign_id", "n")
    )
    result = []
    for campaign in Campaign.objects.select_related("schedule").order_by("-closure_date"):
        states = by_state.get(campaign.pk, {})
        zero = {"excl_vat": Decimal("0"), "to_pay": Decimal("0")}
        granted_row, paid_row = granted.get(campaign.pk) or zero, paid.get(campaign.pk) or zero
        result.append(
            {
                "campaign": campaign,
                "states": [
                    {
                        "label": state.label,
                        "value": state.value,
                        "count": states.get(state, (0, 0))[0],
                        "amount": states.get(state, (0, Decimal("0")))[1],
                    }
                    for state in ClaimState
                ],
                "granted": granted_row["excl_vat"] or Decimal("0"),
                "granted_to_pay": granted_row["to_pay"] or Decimal("0"),
                "paid": paid_row["to_pay"] or Decimal("0"),
                "paid_excl_vat": paid_row["excl_vat"] or Decimal("0"),
                "ordered": ordered.get(campaign.pk) or Decimal("0"),
                "remaining": (granted_row["to_pay"] or Decimal("0")) - (paid_row["to_pay"] or Decimal("0")),
                "recovering": recovering.get(campaign.pk) or Decimal("0"),
                "due_for_action": action.get(campaign.pk, 0),
                "overdue": overdue.get(campaign.pk, 0),
                "recoveries_to_propose": to_propose.get(campaign.pk, 0),
            }
        )
    return result
