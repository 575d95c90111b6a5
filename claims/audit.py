"""The audit trail's checks: every chain (claims' and enrolments' histories, common.audit) intact,
each object's state the one its last event records, and the chains extending the last checkpoint.

A checkpoint (`anchor_audit`, daily) records every chain head, signed with the audit key and, when
AUDIT_TSA_URL is set, stamped by an RFC 3161 time-stamp authority; it may also be written to a file
kept outside the database (AUDIT_CHECKPOINT_DIR). Rewriting history behind a checkpoint then shows,
even for someone who can rewrite the database and its heads, unless they also hold the audit key
(and, with a time-stamp, even then for everything before the stamp).
"""

import base64
import hmac
import json
from pathlib import Path

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from claims.enums import ClaimState
from claims.models import AuditCheckpoint, Claim, ClaimEvent
from common.audit import GENESIS, UnknownAuditKey, audit_mac, canonical_json, chained_hash, event_payload
from common.audit import first_broken_link as _first_broken_link
from common.timestamping import TimestampError, check_timestamp, request_timestamp
from operators.models import Enrolment, EnrolmentEvent
from operators.selectors import enrolment_audit_problem

__all__ = ["GENESIS", "audit_anchor", "audit_problem", "claim_audit_problem", "event_hash"]

CHECKPOINT_CONTEXT = b"segur-audit-checkpoint\n"


def event_hash(event):
    """The hash of a claim event, or of any object with its attributes (the benchmark's bulk loader)."""
    return chained_hash(event_payload(event, parent="claim"), event.prev_hash, key_id=event.key_id)


def claim_audit_problem(claim, events):
    """A French description of the first inconsistency in the claim's events (ordered by seq), or None.
    A claim past draft must have a history, and its state must be the last event's."""
    return _first_broken_link(
        parent=claim,
        events=events,
        label=f"demande n° {claim.pk}",
        state=claim.state,
        needs_chain=claim.state != ClaimState.DRAFT,
    )


def enrolment_problem(enrolment, events):
    return enrolment_audit_problem(enrolment=enrolment, events=events)


# (document key, parent model, event model, parent field, check)
CHAINS = (
    ("claims", Claim, ClaimEvent, "claim", claim_audit_problem),
    ("enrolments", Enrolment, EnrolmentEvent, "enrolment", enrolment_problem),
)
LABELS = {"claims": "demande", "enrolments": "enrôlement"}


# --- Checkpoints ------------------------------------------------------------------------------------


def chain_heads():
    """{"claims": {"<id>": [last seq, head]}, "enrolments": {…}} for every object with a history."""
    heads = {}
    for key, parent_model, _event_model, _field, _check in CHAINS:
        rows = (
            parent_model.objects.annotate(last_seq=Max("events__seq"))
            .filter(last_seq__isnull=False)
            .values_list("pk", "last_seq", "audit_head")
        )
        heads[key] = {str(pk): [seq, head] for pk, seq, head in rows}
    return heads


def _signature(document, key_id):
    return audit_mac(CHECKPOINT_CONTEXT + document.encode(), key_id=key_id)


def audit_anchor(*, at=None):
    """Record a checkpoint of every chain head (signed; time-stamped when AUDIT_TSA_URL is set, and
    written to AUDIT_CHECKPOINT_DIR when set). Raises TimestampError (nothing written) when the
    authority fails, so the job is retried."""
    at = at or timezone.now()
    key_id = settings.AUDIT_KEY_ID
    document = canonical_json({"version": 1, "created_at": at.isoformat(), "key_id": key_id, **chain_heads()})
    checkpoint = AuditCheckpoint(
        created_at=at, document=document, key_id=key_id, signature=_signature(document, key_id)
    )
    if settings.AUDIT_TSA_URL:
        checkpoint.tsa_response, checkpoint.tsa_time = request_timestamp(
            document.encode(),
            url=settings.AUDIT_TSA_URL,
            timeout=settings.AUDIT_TSA_TIMEOUT_SECONDS,
            ca_file=settings.AUDIT_TSA_CA_FILE,
        )
        checkpoint.tsa_url = settings.AUDIT_TSA_URL
    checkpoint.save()
    if settings.AUDIT_CHECKPOINT_DIR:
        write_checkpoint_file(checkpoint, Path(settings.AUDIT_CHECKPOINT_DIR))
    return checkpoint


def write_checkpoint_file(checkpoint, directory):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"audit-checkpoint-{checkpoint.pk:06d}-{checkpoint.created_at:%Y%m%dT%H%M%S}.json"
    content = {
        "document": checkpoint.document,
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "tsa_url": checkpoint.tsa_url,
        "tsa_response": base64.b64encode(bytes(checkpoint.tsa_response)).decode() if checkpoint.tsa_response else None,
    }
    path.write_text(json.dumps(content, indent=1) + "\n")
    return path


def read_checkpoint_file(path):
    """An unsaved AuditCheckpoint from a file written by write_checkpoint_file."""
    content = json.loads(Path(path).read_text())
    tsa = content.get("tsa_response")
    return AuditCheckpoint(
        created_at=timezone.now(),
        document=content["document"],
        key_id=content["key_id"],
        signature=content["signature"],
        tsa_url=content.get("tsa_url") or "",
        tsa_response=base64.b64decode(tsa) if tsa else None,
    )


def checkpoint_problem(checkpoint):
    """A French description of what is wrong with the checkpoint itself (signature, time-stamp), or None."""
    label = f"point de contrôle n° {checkpoint.pk}" if checkpoint.pk else "point de contrôle (fichier)"
    try:
        expected = _signature(checkpoint.document, checkpoint.key_id)
    except UnknownAuditKey:
        return f"{label} : signé par une clé d'audit inconnue (« {checkpoint.key_id} »)"
    if not hmac.compare_digest(expected, checkpoint.signature):
        return f"{label} : signature invalide (contenu modifié)"
    if checkpoint.tsa_response:
        try:
            check_timestamp(checkpoint.tsa_response, checkpoint.document.encode(), ca_file=settings.AUDIT_TSA_CA_FILE)
        except TimestampError as error:
            return f"{label} : {error}"
    elif checkpoint.tsa_url:
        return f"{label} : jeton d'horodatage manquant"
    return None


# --- Verification --------------------------------------------------------------------------------


def audit_problem(*, checkpoint=None, progress=None):
    """(problem, counts): the first inconsistency found in French (None when the journal is intact)
    and {"events", "claims", "enrolments"} checked. `checkpoint` defaults to the latest one."""
    counts = {"events": 0, "claims": 0, "enrolments": 0, "checkpoint": None}
    if checkpoint is None:
        checkpoint = AuditCheckpoint.objects.order_by("-pk").first()
    expected = {}
    if checkpoint is not None:
        problem = checkpoint_problem(checkpoint)
        if problem:
            return problem, counts
        document = json.loads(checkpoint.document)
        expected = {key: dict(document.get(key, {})) for key, *_ in CHAINS}
        counts["checkpoint"] = checkpoint
    for key, parent_model, event_model, field, check in CHAINS:
        heads = expected.get(key, {})
        parents = parent_model.objects.order_by("pk").only("pk", "state", "audit_head")
        for parent in parents.iterator(chunk_size=500):
            events = list(event_model.objects.filter(**{f"{field}_id": parent.pk}).order_by("seq", "pk"))
            problem = check(parent, events)
            if problem is None and str(parent.pk) in heads:
                seq, head = heads.pop(str(parent.pk))
                if len(events) < seq or events[seq - 1].hash != head:
                    problem = (
                        f"{LABELS[key]} n° {parent.pk} : l'historique ne prolonge plus le point de contrôle "
                        f"du {document['created_at'][:16].replace('T', ' ')} (rang {seq} réécrit ou supprimé)"
                    )
            if problem:
                return problem, counts
            counts["events"] += len(events)
            counts[key] += 1
            if progress and counts[key] % 1000 == 0:
                progress(key, counts[key])
        if heads:
            missing = ", ".join(sorted(heads, key=int)[:5])
            return f"{LABELS[key]} n° {missing} : présent(e)s au point de contrôle, disparu(e)s depuis", counts
    return None, counts
