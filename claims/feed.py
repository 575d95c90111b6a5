"""The events feed of an operator (`GET /api/v1/events`): one stream, ordered by time then kind then id,
of its claims' events, its enrolments' events and its webhooks' failed deliveries, each in the envelope
the webhooks send (`{"id", "type", "created_at", "data"}`, claims.webhooks).

The cursor is opaque to clients: the position (time, kind, id) of the last event read, in base64. Each
source is read after that position (keyset, `limit + 1` rows), and the three sorted runs are merged:
one ordered union without SQL UNION (the ids are integers or UUIDs). Events younger than
EVENTS_FEED_DELAY_SECONDS are held back: an event is dated when its transaction starts and may commit
later, so a client at the head of the feed could otherwise step past it.
"""

import base64
import binascii
import heapq
import json
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from claims.enums import FeedEventType
from claims.models import ClaimEvent
from claims.webhooks import claim_event_payload, event_type
from common.roles import operator_id_of
from operators.enums import WebhookDeliveryStatus
from operators.models import EnrolmentEvent, WebhookDelivery

# The second key of the order: events at the same instant come claims first, then enrolments, then webhooks.
CLAIM, ENROLMENT, WEBHOOK = 0, 1, 2
MAX_LIMIT = 200
INVALID_CURSOR = "Curseur invalide : reprenez celui d'une réponse précédente (champ `cursor`)."


class InvalidCursor(ValueError):
    pass


def encode_cursor(position):
    at, kind, pk = position
    raw = json.dumps([at.astimezone(UTC).isoformat(timespec="microseconds"), kind, str(pk)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text):
    """(at, kind, id) from a cursor; raises InvalidCursor."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        at, kind, pk = raw
        at = datetime.fromisoformat(at)
        if at.tzinfo is None or kind not in (CLAIM, ENROLMENT, WEBHOOK):
            raise ValueError(kind)
        return at, kind, (uuid.UUID(pk) if kind == WEBHOOK else int(pk))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise InvalidCursor(INVALID_CURSOR) from None


def _after(queryset, *, field, kind, position):
    """The rows of source `kind` strictly after `position` in the feed's (time, kind, id) order."""
    if position is None:
        return queryset
    at, after_kind, pk = position
    if kind > after_kind:
        return queryset.filter(**{f"{field}__gte": at})
    if kind < after_kind:
        return queryset.filter(**{f"{field}__gt": at})
    return queryset.filter(Q(**{f"{field}__gt": at}) | Q(**{field: at, "pk__gt": pk}))


def _claim_envelope(event):
    payload = claim_event_payload(event)
    payload["type"] = event_type(event) or FeedEventType.CLAIM_UPDATED
    return payload


def _enrolment_envelope(event):
    if not event.from_state:
        kind = FeedEventType.ENROLMENT_CREATED
    elif event.from_state != event.to_state:
        kind = FeedEventType.ENROLMENT_STATE_CHANGED
    else:
        kind = FeedEventType.ENROLMENT_UPDATED
    at = timezone.localtime(event.at).isoformat()
    return {
        "id": f"enrolment-event:{event.pk}",
        "type": kind,
        "created_at": at,
        "data": {
            "enrolment": {"id": event.enrolment_id, "state": event.to_state},
            # No comment: an enrolment's messages are its representative's (GET /enrolments shows them to them only).
            "event": {
                "seq": event.seq,
                "action": event.action,
                "from_state": event.from_state,
                "to_state": event.to_state,
                "at": at,
                "actor": event.actor_label,
            },
        },
    }


def _delivery_envelope(delivery):
    return {
        "id": f"webhook-delivery:{delivery.pk}",
        "type": FeedEventType.WEBHOOK_DELIVERY_FAILED,
        "created_at": timezone.localtime(delivery.last_attempt_at).isoformat(),
        "data": {
            "webhook": {"id": delivery.webhook_id, "url": delivery.webhook.url},
            "delivery": {
                "id": str(delivery.pk),
                "event_id": delivery.event_key,
                "event_type": delivery.event_type,
                "attempts": delivery.attempts,
                "response_status": delivery.response_status,
                "last_error": delivery.last_error,
            },
        },
    }


def operator_events(*, user, after=None, limit=50, now=None):
    """The events of `user`'s operator after the cursor `after` (None: from the start), at most `limit`.

    Returns (envelopes, cursor, has_more): `cursor` is the position of the last event returned (or
    `after` when none), to pass as `after` next time. Raises InvalidCursor. A user without an
    operator sees nothing.
    """
    position = decode_cursor(after) if after else None
    operator_id = operator_id_of(user)
    if operator_id is None:
        return [], after, False
    horizon = (now or timezone.now()) - timedelta(seconds=settings.EVENTS_FEED_DELAY_SECONDS)
    sources = [
        (
            CLAIM,
            "at",
            ClaimEvent.objects.filter(claim__operator_id=operator_id, at__lte=horizon).select_related(
                "claim__campaign"
            ),
            _claim_envelope,
        ),
        (
            ENROLMENT,
            "at",
            EnrolmentEvent.objects.filter(enrolment__operator_id=operator_id, at__lte=horizon),
            _enrolment_envelope,
        ),
        (
            WEBHOOK,
            "last_attempt_at",
            WebhookDelivery.objects.filter(
                webhook__operator_id=operator_id,
                status=WebhookDeliveryStatus.FAILED,
                last_attempt_at__isnull=False,
                last_attempt_at__lte=horizon,
            ).select_related("webhook"),
            _delivery_envelope,
        ),
    ]
    runs = []
    for kind, field, queryset, envelope in sources:
        rows = _after(queryset, field=field, kind=kind, position=position).order_by(field, "pk")[: limit + 1]
        runs.append([((getattr(row, field), kind, row.pk), envelope, row) for row in rows])
    merged = list(heapq.merge(*runs, key=lambda item: item[0]))[: limit + 1]
    has_more = len(merged) > limit
    page = merged[:limit]
    cursor = encode_cursor(page[-1][0]) if page else after
    return [envelope(row) for _, envelope, row in page], cursor, has_more
