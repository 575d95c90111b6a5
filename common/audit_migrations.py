"""What the audit migrations run (claims 0009, operators 0008): frozen with them, do not change.

- Re-sealing: each chain is checked under its current scheme and, only when intact, recomputed
  under the other one (plain SHA-256 → HMAC-SHA256 under the current audit key, or back). A chain
  already broken is left as it is, so `verify_audit` still reports it: re-sealing never launders
  a rewrite.
- TRUNCATE refused on PostgreSQL by a statement-level trigger (row triggers do not fire on it).
"""

import hashlib
import hmac
import json
from datetime import UTC

from django.conf import settings

GENESIS = "0" * 64


def _canonical(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _payload(event, parent):
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


def _sha256(event, parent, prev_hash, key_id):
    return hashlib.sha256(_canonical({**_payload(event, parent), "prev": prev_hash})).hexdigest()


def _hmac(event, parent, prev_hash, key_id):
    keys = {**settings.AUDIT_KEYS, settings.AUDIT_KEY_ID: settings.AUDIT_KEY}
    data = _canonical({**_payload(event, parent), "prev": prev_hash, "key": key_id})
    return hmac.new(keys[key_id].encode(), data, hashlib.sha256).hexdigest()


def _intact_chain(events, head, seal, parent):
    """True when `events` (ordered by seq) form an unbroken chain under `seal` ending at `head`."""
    known_keys = {**settings.AUDIT_KEYS, settings.AUDIT_KEY_ID: settings.AUDIT_KEY}
    previous = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq or event.prev_hash != previous:
            return False
        if seal is _hmac and event.key_id not in known_keys:
            return False
        if seal(event, parent, event.prev_hash, event.key_id) != event.hash:
            return False
        previous = event.hash
    return previous == (head or GENESIS)


def reseal(apps, schema_editor, *, app_label, parent_model, event_model, parent, trigger, to_hmac):
    """Re-seal every intact chain of `event_model` (to HMAC when `to_hmac`, else back to SHA-256)."""
    Parent = apps.get_model(app_label, parent_model)
    Event = apps.get_model(app_label, event_model)
    table = Event._meta.db_table
    postgres = schema_editor.connection.vendor == "postgresql"
    source, target = (_sha256, _hmac) if to_hmac else (_hmac, _sha256)
    new_key_id = settings.AUDIT_KEY_ID if to_hmac else ""
    if postgres:
        schema_editor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    for parent_row in Parent.objects.order_by("pk").only("pk", "audit_head").iterator(chunk_size=500):
        events = list(Event.objects.filter(**{f"{parent}_id": parent_row.pk}).order_by("seq", "pk"))
        if not events or not _intact_chain(events, parent_row.audit_head, source, parent):
            continue
        previous = GENESIS
        for event in events:
            event.prev_hash, event.key_id = previous, new_key_id
            event.hash = target(event, parent, previous, new_key_id)
            previous = event.hash
        Event.objects.bulk_update(events, ["prev_hash", "hash", "key_id"], batch_size=500)
        Parent.objects.filter(pk=parent_row.pk).update(audit_head=previous)
    if postgres:
        schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


def truncate_guard_sql(*, table, function):
    """SQL creating (then dropping) a statement-level trigger refusing TRUNCATE on `table` with the
    existing append-only trigger `function`."""
    trigger = f"{table}_no_truncate"
    create = f"CREATE TRIGGER {trigger} BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
    return create, f"DROP TRIGGER IF EXISTS {trigger} ON {table};"
