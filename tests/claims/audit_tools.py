"""What an insider could do to the audit journal, for the tamper tests (tests/claims/test_audit*.py)."""

import hashlib
import json
from datetime import UTC

from django.db import connection


def tamper(sql, params):
    """What a database administrator could do: bypass the trigger and rewrite a row."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def plain_sha256(event, prev):
    """The chain hash before this change: what an insider could recompute without any key."""
    payload = {
        "claim": event.claim_id,
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "comment": event.comment,
        "prev": prev,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
