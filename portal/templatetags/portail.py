"""Template filters of the operators' portal: French money and Paris times (common.formatting), state
badges. Event labels come with the events (their action_label, common.labels)."""

from django import template

from claims.enums import ClaimState
from common.templatetags import formatting

register = template.Library()

BADGES = {
    ClaimState.DRAFT: "",
    ClaimState.SUBMITTED: "fr-badge--info",
    ClaimState.IN_REVIEW: "fr-badge--info",
    ClaimState.CHANGES_REQUESTED: "fr-badge--warning",
    ClaimState.APPROVED: "fr-badge--success",
    ClaimState.PAID: "fr-badge--success",
    ClaimState.REJECTED: "fr-badge--error",
    ClaimState.WITHDRAWN: "",
    ClaimState.LAPSED: "fr-badge--error",
}


# The product's one money and count format, also `{% load formatting %}` elsewhere.
register.filter("euros", formatting.euros)
register.filter("count", formatting.count)
register.filter("percent", formatting.vat_rate)  # a VAT rate: « 20 % »
register.filter("paris_datetime", formatting.paris_datetime)


@register.filter
def state_badge(state):
    return BADGES.get(state, "")


@register.filter
def minutes(delta):
    """A timedelta as a French duration in whole minutes."""
    total = max(1, round(delta.total_seconds() / 60))
    return f"{total} minute{'s' if total > 1 else ''}"
