"""Figures for the agents' dashboard: per campaign, by state, funded vs paid vs remaining."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum

from claims.enums import ENDED_STATES, OPEN_RECOVERY_STATES, ClaimState
from claims.models import Claim, Payment, Recovery
from funding.calendar import paris_today
from funding.models import Campaign


def campaign_dashboard(*, user):
    """One dict per campaign; a constant number of queries whatever the number of claims."""
    today = paris_today()
    by_state = defaultdict(dict)
    for row in Claim.objects.values("campaign_id", "state").annotate(n=Count("id"), total=Sum("amount")):
        by_state[row["campaign_id"]][row["state"]] = (row["n"], row["total"] or Decimal("0"))

    # Funded total: per operator, the latest frozen total among its claims still standing.
    funded = defaultdict(lambda: Decimal("0"))
    latest = {}
    standing = (
        Claim.objects.exclude(state__in=(*ENDED_STATES, ClaimState.REJECTED))
        .exclude(funded_total__isnull=True)
        .values("campaign_id", "operator_id", "funded_total", "submitted_at")
        .order_by("submitted_at")
    )
    for row in standing:
        latest[(row["campaign_id"], row["operator_id"])] = row["funded_total"]
    for (campaign_id, _), total in latest.items():
        funded[campaign_id] += total

    paid = dict(
        Payment.objects.values_list("claim__campaign_id")
        .annotate(total=Sum("amount"))
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
    result = []
    for campaign in Campaign.objects.select_related("schedule").order_by("-closure_date"):
        states = by_state.get(campaign.pk, {})
        paid_total = paid.get(campaign.pk) or Decimal("0")
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
                "funded": funded[campaign.pk],
                "paid": paid_total,
                "remaining": funded[campaign.pk] - paid_total,
                "recovering": recovering.get(campaign.pk) or Decimal("0"),
                "due_for_action": action.get(campaign.pk, 0),
                "overdue": overdue.get(campaign.pk, 0),
            }
        )
    return result
