"""Claim events → operators' webhooks: the payload of a state change, fanned out to the claim's operator only."""

import logging

from django.utils import timezone

from claims.enums import FeedEventType
from claims.models import ClaimEvent
from operators import services as operator_services

logger = logging.getLogger(__name__)

EVENT_TYPES = {"create": FeedEventType.CLAIM_CREATED.value}
STATE_CHANGED = FeedEventType.CLAIM_STATE_CHANGED.value


def event_type(event):
    """The webhook type of a claim event, or None when it does not change the claim's state."""
    if event.action in EVENT_TYPES:
        return EVENT_TYPES[event.action]
    return STATE_CHANGED if event.from_state != event.to_state else None


def claim_event_payload(event):
    claim = event.claim
    return {
        "id": f"claim-event:{event.pk}",
        "type": event_type(event),
        "created_at": timezone.localtime(event.at).isoformat(),
        "data": {
            "claim": {
                "id": claim.pk,
                "campaign": claim.campaign.code,
                "kind": claim.kind,
                "state": event.to_state,
                "amount": None if claim.amount is None else f"{claim.amount:.2f}",
                "url": f"/api/v1/claims/{claim.pk}",
            },
            "event": {
                "seq": event.seq,
                "action": event.action,
                "from_state": event.from_state,
                "to_state": event.to_state,
                "at": timezone.localtime(event.at).isoformat(),
                "actor": event.actor_label,
                "comment": event.comment,
            },
        },
    }


def fan_out_claim_event(event_id):
    """Queue one signed delivery per active hook of the claim's operator. Never raises: it runs after
    commit, next to the e-mail, and is safe to run again (one delivery per hook and event)."""
    try:
        event = ClaimEvent.objects.select_related("claim__campaign").filter(pk=event_id).first()
        if event is None or event_type(event) is None:
            return []
        return operator_services.webhook_deliveries_enqueue(
            operator_id=event.claim.operator_id,
            event_key=f"claim-event:{event.pk}",
            event_type=event_type(event),
            payload=claim_event_payload(event),
            occurred_at=event.at,
        )
    except Exception:
        logger.exception("could not fan out claim event %s to webhooks", event_id)
        return []
