"""Template filters of the operators' portal: French money, state badges, event labels."""

from decimal import Decimal

from django import template

from claims.enums import ClaimState
from claims.workflow import TRANSITIONS

register = template.Library()

NBSP, NNBSP = "\u00a0", "\u202f"

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


@register.filter
def euros(amount):
    """12345.6 → « 12 345,60 € » (French grouping with a narrow no-break space)."""
    if amount in (None, ""):
        return "—"
    text = f"{Decimal(amount):,.2f}".replace(",", NNBSP).replace(".", ",")
    return f"{text}{NBSP}€"


@register.filter
def percent(rate):
    """0.2 → « 20 % » (a VAT rate held as a fraction)."""
    if rate in (None, ""):
        return "—"
    text = f"{Decimal(rate) * 100:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text}{NBSP}%"


@register.filter
def count(value):
    """12345 → « 12 345 »."""
    if value in (None, ""):
        return "—"
    return f"{int(value):,}".replace(",", NNBSP)


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
