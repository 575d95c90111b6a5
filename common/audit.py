"""Append-only, hash-chained logs shared by the apps (claims' and enrolments' histories).

Each row stores the HMAC-SHA256, under the audit key (AUDIT_KEY, kept outside the database and
named by the row's `key_id`), of a canonical JSON form of its content chained with the previous
row's hash; the parent object keeps the chain head, so a removed last row shows. Without the key,
someone who can write to the database cannot recompute a chain after rewriting a row.
"""

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.db.models import Max

from common.formatting import paris_datetime
from common.roles import actor_label

GENESIS = "0" * 64
APPEND_ONLY = "Le journal est en ajout seul : modification ou suppression interdite."


class UnknownAuditKey(LookupError):
    """No configured audit key has this id (AUDIT_KEY_ID, AUDIT_KEYS)."""


def audit_keys() -> dict[str, str]:
    """{key id: key}: the current audit key and the former ones still accepted for verification."""
    return {**settings.AUDIT_KEYS, settings.AUDIT_KEY_ID: settings.AUDIT_KEY}


def audit_mac(data: bytes, *, key_id: str) -> str:
    """HMAC-SHA256 hex digest of `data` (bytes) under the audit key `key_id`."""
    try:
        key = audit_keys()[key_id]
    except KeyError:
        raise UnknownAuditKey(key_id) from None
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chained_hash(payload: dict[str, object], prev_hash: str, *, key_id: str) -> str:
    """HMAC-SHA256 (audit key `key_id`) of `payload` (a JSON-serialisable dict) chained with `prev_hash`."""
    return audit_mac(canonical_json({**payload, "prev": prev_hash, "key": key_id}).encode(), key_id=key_id)


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError(APPEND_ONLY)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(APPEND_ONLY)


class AppendOnlyModel(models.Model):
    """Rows are inserted once, never updated nor deleted (model and queryset)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError(APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError(APPEND_ONLY)


class ChainedEvent(AppendOnlyModel):
    """One row of an object's history. Subclasses add the parent FK (named by CHAIN_PARENT, with
    related_name="events"), the from/to state fields with their choices, and LABELS: their table of
    French action labels in common.labels (an unknown action shows its code, never fails)."""

    CHAIN_PARENT: ClassVar[str] = ""  # each subclass names its parent FK
    LABELS: ClassVar[dict[str, str]] = {}
    # Declared by each subclass as fields with their choices.
    from_state: str
    to_state: str

    seq = models.PositiveIntegerField("rang")
    at = models.DateTimeField("date")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="auteur",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField("auteur (libellé)", max_length=150)
    action = models.CharField("action", max_length=32)
    comment = models.TextField("commentaire", blank=True)
    prev_hash = models.CharField("empreinte précédente", max_length=64)
    hash = models.CharField("empreinte", max_length=64)
    # Which audit key sealed the row ("" for a row left as a plain SHA-256 by the re-sealing
    # migration because its chain was already broken).
    key_id = models.CharField("clé d'audit", max_length=32, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{paris_datetime(self.at)} {self.actor_label} : {self.action_label}"

    @property
    def action_label(self) -> str:
        return self.LABELS.get(self.action, self.action)

    def hash_payload(self) -> dict[str, object]:
        return event_payload(self, parent=self.CHAIN_PARENT)


def event_payload(event: Any, *, parent: str) -> dict[str, object]:
    """What an event's hash covers; `event` may be any object with the event's attributes (bulk loaders)."""
    return {
        parent: getattr(event, f"{parent}_id"),
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "comment": event.comment,
    }


def event_hash(event: ChainedEvent) -> str:
    return chained_hash(event.hash_payload(), event.prev_hash, key_id=event.key_id)


def seal(event: ChainedEvent, *, after: str) -> str:
    """Link the unsaved `event` to the chain whose head is `after` ("" for a new chain) and seal it
    under the current audit key: sets prev_hash, key_id and hash; returns the new head. The one
    place a chain is extended (append_event, and the benchmark's bulk loader)."""
    event.prev_hash = after or GENESIS
    event.key_id = settings.AUDIT_KEY_ID
    event.hash = event_hash(event)
    return event.hash


class ChainParent(Protocol):
    """An object whose history is a chain of events (a claim, an enrolment, a payment batch…)."""

    objects: ClassVar[models.Manager[Any]]
    pk: Any
    audit_head: str

    @property
    def events(self) -> models.Manager[Any]: ...


EventT = TypeVar("EventT", bound=ChainedEvent)


def append_event(
    *,
    parent: ChainParent,
    event_model: type[EventT],
    actor: User | None,
    action: str,
    from_state: str,
    to_state: str,
    comment: str = "",
    at: datetime,
) -> EventT:
    """Append one event to `parent`'s chain and move its head; the caller holds the lock on `parent`'s row."""
    last_seq = parent.events.aggregate(last=Max("seq"))["last"] or 0
    event = event_model(
        **{event_model.CHAIN_PARENT: parent},
        seq=last_seq + 1,
        at=at,
        actor=actor,
        actor_label=actor_label(actor),
        action=action,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
    )
    seal(event, after=parent.audit_head)
    event.save()
    type(parent).objects.filter(pk=parent.pk).update(audit_head=event.hash)
    parent.audit_head = event.hash
    return event


def first_broken_link(
    *,
    parent: ChainParent,
    events: Sequence[ChainedEvent],
    label: str,
    state: str | None = None,
    needs_chain: bool = False,
) -> str | None:
    """A French description of the first inconsistency in `events` (ordered by seq), or None.

    `label` names the parent in the message, e.g. "demande n° 12". With `state`, the last event
    must lead to it; with `needs_chain`, an empty history is itself an inconsistency (a journal
    emptied, or truncated, with its heads blanked).
    """
    previous = GENESIS
    keys = audit_keys()
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return (
                f"{label} : événement n° {event.pk} au rang {event.seq}, rang {expected_seq} attendu (ligne manquante)"
            )
        if event.prev_hash != previous:
            return f"{label} : événement n° {event.pk} (rang {event.seq}) ne suit pas l'empreinte précédente"
        if event.key_id not in keys:
            return (
                f"{label} : événement n° {event.pk} (rang {event.seq}) scellé par une clé d'audit inconnue "
                f"(« {event.key_id} ») ou pas scellé"
            )
        if not hmac.compare_digest(event_hash(event), event.hash):
            return f"{label} : événement n° {event.pk} (rang {event.seq}) a été modifié"
        previous = event.hash
    if previous != (parent.audit_head or GENESIS):
        return f"{label} : la tête de chaîne ne correspond pas au dernier événement (ligne supprimée)"
    if not events and needs_chain:
        return f"{label} : aucun historique pour l'état « {state} » (journal vidé ?)"
    if events and state is not None and events[-1].to_state != state:
        return (
            f"{label} : l'état actuel « {state} » n'est pas celui du dernier événement "
            f"(« {events[-1].to_state} ») : modifié hors du journal"
        )
    return None
