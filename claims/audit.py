"""The claims' audit trail uses the shared hash chain of common.audit (per claim; head on the claim)."""

from common.audit import GENESIS, chained_hash, event_payload, first_broken_link

__all__ = ["GENESIS", "claim_audit_problem", "event_hash"]


def event_hash(event):
    """The hash of a claim event, or of any object with its attributes (the benchmark's bulk loader)."""
    return chained_hash(event_payload(event, parent="claim"), event.prev_hash)


def claim_audit_problem(claim, events):
    """A French description of the first inconsistency in the claim's events (ordered by seq), or None."""
    return first_broken_link(parent=claim, events=events, label=f"demande n° {claim.pk}")
