"""Tamper-evident audit trail: each event hashes its own content chained with the previous hash.

The chain is per claim (the claim row is locked while an event is appended, so appends
never race) and its head is kept on the claim, so a removed last row is detected too.
"""

import hashlib
import json
from datetime import UTC

GENESIS = "0" * 64


def event_hash(event):
    """SHA-256 of the event's content and the previous hash, over a canonical JSON form."""
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
        "prev": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def first_broken_link(claim, events):
    """Return a French description of the first inconsistency in `events` (ordered by seq), or None."""
    previous = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return (
                f"demande n° {claim.pk} : événement n° {event.pk} au rang {event.seq}, "
                f"rang {expected_seq} attendu (ligne manquante)"
            )
        if event.prev_hash != previous:
            return (
                f"demande n° {claim.pk} : événement n° {event.pk} (rang {event.seq}) ne suit pas l'empreinte précédente"
            )
        if event_hash(event) != event.hash:
            return f"demande n° {claim.pk} : événement n° {event.pk} (rang {event.seq}) a été modifié"
        previous = event.hash
    if previous != (claim.audit_head or GENESIS):
        return f"demande n° {claim.pk} : la tête de chaîne ne correspond pas au dernier événement (ligne supprimée)"
    return None
