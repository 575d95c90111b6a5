"""Webhooks: operators' receivers, and the delivery of events to them (signed, retried)."""

import json
import logging
import secrets
import uuid
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from celery import shared_task  # type: ignore[import-untyped]
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from common.exceptions import InvalidInput, NotAllowed, StateConflict
from common.queueing import enqueue
from common.roles import AnyUser, operator_id_of
from operators import notifications, secret_box, webhooks
from operators.enums import (
    WebhookDeliveryStatus,
)
from operators.models import (
    Operator,
    Webhook,
    WebhookDelivery,
)

logger = logging.getLogger(__name__)

ATTEMPT_DELIVERED, ATTEMPT_RETRY, ATTEMPT_SKIPPED = "delivered", "retry", "skipped"


def _require_member(actor: AnyUser, operator_id: int) -> None:
    if actor is None or getattr(actor, "is_staff", False) or operator_id_of(actor) != operator_id:
        raise NotAllowed()


def validate_webhook_url(url: str | None) -> str:
    """https only, no credentials, no local or private host (the receiver must be on the Internet)."""
    url = (url or "").strip()
    message = None
    try:
        URLValidator(schemes=["https"])(url)
    except ValidationError:
        message = "Une adresse https valide est attendue (https://…)."
    if message is None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if len(url) > 500:
            message = "500 caractères au plus."
        elif parts.username or parts.password:
            message = "L'adresse ne doit pas contenir d'identifiants."
        elif not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
            if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
                message = "Une adresse joignable sur Internet est attendue."
            else:
                try:
                    if not webhooks.is_public_address(host.strip("[]")):
                        message = "Une adresse joignable sur Internet est attendue."
                except ValueError:
                    pass  # a host name: resolved and checked again at each delivery
    if message:
        raise InvalidInput(message, errors={"url": [message]})
    return url


def _new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def webhook_create(*, operator: Operator, url: str, actor: User) -> tuple[Webhook, str]:
    """Register an https receiver for the operator; returns (webhook, secret) — the secret is shown once."""
    _require_member(actor, operator.pk)
    url = validate_webhook_url(url)
    if Webhook.objects.filter(operator=operator).count() >= settings.WEBHOOKS_PER_OPERATOR:
        raise StateConflict(f"{settings.WEBHOOKS_PER_OPERATOR} webhooks au plus par opérateur.")
    secret = _new_secret()
    webhook = Webhook.objects.create(
        operator=operator, url=url, sealed_secret=secret_box.seal(secret), created_by=actor
    )
    return webhook, secret


def webhook_update(*, webhook: Webhook, actor: User, url: str | None = None, is_active: bool | None = None) -> Webhook:
    """Change the address and/or (re)activate a hook; reactivation clears its failure count."""
    _require_member(actor, webhook.operator_id)
    fields: dict[str, object] = {}
    if url is not None:
        fields["url"] = validate_webhook_url(url)
    if is_active is not None:
        fields["is_active"] = bool(is_active)
        if is_active:
            fields.update(consecutive_failures=0, disabled_at=None, disabled_reason="")
    if fields:
        Webhook.objects.filter(pk=webhook.pk).update(**fields)
    return Webhook.objects.get(pk=webhook.pk)


def webhook_rotate_secret(*, webhook: Webhook, actor: User, at: datetime | None = None) -> tuple[Webhook, str]:
    """Replace the signing secret at once; returns (webhook, new secret) — shown once."""
    _require_member(actor, webhook.operator_id)
    secret = _new_secret()
    Webhook.objects.filter(pk=webhook.pk).update(
        sealed_secret=secret_box.seal(secret), secret_rotated_at=at or timezone.now()
    )
    return Webhook.objects.get(pk=webhook.pk), secret


def webhook_delete(*, webhook: Webhook, actor: User) -> None:
    _require_member(actor, webhook.operator_id)
    webhook.delete()


def webhook_deliveries_enqueue(
    *, operator_id: int, event_key: str, event_type: str, payload: object, occurred_at: datetime | None = None
) -> list[uuid.UUID]:
    """Create one delivery per active hook of `operator_id` (never another operator's) and queue them.

    Idempotent: a hook gets at most one delivery per `event_key`; only new ones are queued.
    Hooks registered after `occurred_at` are not sent older events. Returns the new delivery ids.
    """
    hooks = Webhook.objects.filter(operator_id=operator_id, is_active=True)
    if occurred_at is not None:
        hooks = hooks.filter(created_at__lte=occurred_at)
    created: list[uuid.UUID] = []
    with transaction.atomic():
        for hook in hooks:
            delivery, is_new = WebhookDelivery.objects.get_or_create(
                webhook=hook, event_key=event_key, defaults={"event_type": event_type, "payload": payload}
            )
            if is_new:
                created.append(delivery.pk)
        for delivery_id in created:
            transaction.on_commit(partial(schedule_webhook_delivery, str(delivery_id)))
    return created


def schedule_webhook_delivery(delivery_id: str | uuid.UUID) -> None:
    enqueue(deliver_webhook, str(delivery_id))


# --- The delivery task: one attempt, then the next one queued with backoff ---------------------------
# It lives beside the services it runs and that queue it (operators.tasks lists it); its name is kept
# so that deliveries queued before a deploy still find it.

# Below the Redis broker's visibility timeout (1 h), so a delayed retry is never delivered twice.
MAX_RETRY_DELAY = 30 * 60


def retry_countdown(attempt: int) -> int:
    """Seconds before attempt n+1: exponential from WEBHOOK_RETRY_BASE_SECONDS, capped at 30 minutes."""
    return min(int(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1)), MAX_RETRY_DELAY)


@shared_task(name="operators.tasks.deliver_webhook", acks_late=True)  # type: ignore[untyped-decorator]
def deliver_webhook(delivery_id: str) -> str:
    """One attempt; on failure the next one is queued with exponential backoff, up to
    WEBHOOK_MAX_ATTEMPTS (counted on the delivery row, so it holds across workers and redeliveries)."""
    outcome, attempts = webhook_attempt(delivery_id=delivery_id)
    if outcome != ATTEMPT_RETRY:
        return outcome
    if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        webhook_give_up(delivery_id=delivery_id)
        return "failed"
    schedule_retry(delivery_id, retry_countdown(attempts))
    return "retry"


def schedule_retry(delivery_id: str, countdown: int) -> None:
    """Queue the next attempt; if the broker is down, the outbox flush picks the delivery up later."""
    try:
        deliver_webhook.apply_async((str(delivery_id),), countdown=countdown)
    except Exception:
        logger.exception("could not queue the next attempt of webhook delivery %s", delivery_id)


def webhook_request(delivery: WebhookDelivery, *, at: datetime) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of one attempt: the stored payload, signed with the hook's current secret.
    Raises webhooks.DeliveryError when the secret cannot be unsealed (SECRET_KEY changed)."""
    try:
        secret = secret_box.unseal(delivery.webhook.sealed_secret)
    except secret_box.SecretUnavailable as error:
        raise webhooks.DeliveryError(str(error)) from None
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(at.timestamp()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        webhooks.TIMESTAMP_HEADER: timestamp,
        webhooks.SIGNATURE_HEADER: webhooks.sign(secret, timestamp, body),
        webhooks.DELIVERY_HEADER: str(delivery.pk),
        webhooks.EVENT_HEADER: delivery.event_type,
    }
    return body, headers


def webhook_attempt(*, delivery_id: str | uuid.UUID, at: datetime | None = None) -> tuple[str, int]:
    """Try one delivery once and log the outcome. Returns (outcome, attempts made so far), the outcome
    being "delivered", "retry" or "skipped".

    A 2xx answer delivers; anything else (other status, timeout, refused address) asks for a
    retry. Safe to run twice: a delivery no longer pending is skipped.
    """
    at = at or timezone.now()
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDeliveryStatus.PENDING:
        return ATTEMPT_SKIPPED, getattr(delivery, "attempts", 0)
    if not delivery.webhook.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDeliveryStatus.PENDING).update(
            status=WebhookDeliveryStatus.FAILED,
            last_error="Webhook désactivé : livraison abandonnée.",
            last_attempt_at=at,  # when it was given up: its time in the events feed (claims.feed)
        )
        return ATTEMPT_SKIPPED, delivery.attempts
    status, error = None, ""
    try:
        body, headers = webhook_request(delivery, at=at)
        status = webhooks.post(delivery.webhook.url, body, headers)
        if not 200 <= status < 300:
            error = f"Réponse HTTP {status}."
    except webhooks.DeliveryError as failure:
        error = str(failure) or "Erreur réseau."
    ok = not error
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
        if locked is None or locked.status != WebhookDeliveryStatus.PENDING:
            return ATTEMPT_SKIPPED, getattr(locked, "attempts", 0)
        locked.attempts += 1
        locked.last_attempt_at = at
        locked.response_status = status
        locked.last_error = error[:500]
        if ok:
            locked.status = WebhookDeliveryStatus.DELIVERED
            locked.delivered_at = at
            Webhook.objects.filter(pk=locked.webhook_id).update(consecutive_failures=0)
        locked.save()
    return (ATTEMPT_DELIVERED if ok else ATTEMPT_RETRY), locked.attempts


def webhook_give_up(*, delivery_id: str | uuid.UUID, at: datetime | None = None) -> bool:
    """Mark a delivery failed after its last attempt; WEBHOOK_DISABLE_AFTER failed deliveries in a row
    disable the hook and e-mail the operator (after commit). Returns True when the hook was disabled."""
    at = at or timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status != WebhookDeliveryStatus.PENDING:
            return False
        delivery.status = WebhookDeliveryStatus.FAILED
        delivery.save(update_fields=["status"])
        hook = Webhook.objects.select_for_update().get(pk=delivery.webhook_id)
        hook.consecutive_failures += 1
        disabled = hook.is_active and hook.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER
        if disabled:
            hook.is_active = False
            hook.disabled_at = at
            hook.disabled_reason = f"{hook.consecutive_failures} livraisons consécutives en échec"
            transaction.on_commit(lambda: notifications.schedule_webhook_disabled_email(hook.pk))
        hook.save(update_fields=["consecutive_failures", "is_active", "disabled_at", "disabled_reason"])
    return disabled


def webhook_stalled_delivery_ids(
    *,
    now: datetime | None = None,
    unsent_after: timedelta = timedelta(minutes=5),
    stalled_after: timedelta = timedelta(hours=6),
) -> list[uuid.UUID]:
    """Pending deliveries whose task was lost: never tried after 5 minutes, or silent for 6 hours
    (longer than the whole retry schedule), on hooks still active."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING, webhook__is_active=True)
        .filter(
            Q(attempts=0, created_at__lte=now - unsent_after)
            | Q(attempts__gt=0, last_attempt_at__lte=now - stalled_after)
        )
        .values_list("pk", flat=True)[:500]
    )
