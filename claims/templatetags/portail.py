"""Template filters of the operators' portal: French money (common.formatting), state badges, event labels."""

from django import template

from claims.enums import ClaimState
from claims.workflow import TRANSITIONS
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

EVENT_LABELS = {
    "create": "Création de la demande",
    "update": "Modification",
    "document": "Pièce déposée",
    "extend_deadline": "Prolongation de la date limite",
}


# The product's one money and count format, also `{% load formatting %}` elsewhere.
register.filter("euros", formatting.euros)
register.filter("count", formatting.count)
register.filter("percent", formatting.vat_rate)  # a VAT rate: « 20 % »


@register.filter
def state_badge(state):
    return BADGES.get(state, "")


@register.filter
def event_label(action):
    if action in TRANSITIONS:
        return TRANSITIONS[action].label
    return EVENT_LABELS.get(action, action.replace("_", " ").capitalize())


@register.filter
def minutes(delta):
    """A timedelta as a French duration in whole minutes."""
    total = max(1, round(delta.total_seconds() / 60))
    return f"{total} minute{'s' if total > 1 else ''}"
