"""The audit trail's checks: every hash-chained journal (common.audit: the histories of claims,
enrolments, bank-details changes and payment batches) intact, each object's state the one its last
event records, and the chains extending the last checkpoint.

A checkpoint (`anchor_audit`, daily) records every chain head, signed with the audit key and, when
AUDIT_TSA_URL is set, stamped by an RFC 3161 time-stamp authority; it may also be written to a file
kept outside the database (AUDIT_CHECKPOINT_DIR). Rewriting history behind a checkpoint then shows,
even for someone who can rewrite the database and its heads, unless they also hold the audit key
(and, with a time-stamp, even then for everything before the stamp).
"""

import base64
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from claims.enums import ClaimState
from claims.models import AuditCheckpoint, Claim, ClaimEvent, PaymentBatch, PaymentBatchEvent
from common.audit import GENESIS, UnknownAuditKey, audit_mac, canonical_json, chained_hash, event_payload
from common.audit import first_broken_link as _first_broken_link
from common.timestamping import TimestampError, check_timestamp, request_timestamp
from operators.models import BankDetailsChange, BankDetailsEvent, Enrolment, EnrolmentEvent
from operators.selectors import bank_details_audit_problem, enrolment_audit_problem

__all__ = ["GENESIS", "audit_anchor", "audit_problem", "claim_audit_problem", "event_hash"]

CHECKPOINT_CONTEXT = b"segur-audit-checkpoint\n"


def event_hash(event):
    """The hash of a claim event (or of any object with its attributes)."""
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


def bank_details_problem(change, events):
    return bank_details_audit_problem(change=change, events=events)


def batch_audit_problem(batch, events):
    """A French description of the first inconsistency in the batch's history, or None. Every batch
    is written with its first event ("generate"), and its state must be the last event's."""
    return _first_broken_link(
        parent=batch,
        events=events,
        label=f"lot de paiement (identifiant {batch.pk})",
        state=batch.state,
        needs_chain=True,
    )


@dataclass(frozen=True)
class Chain:
    """One hash-chained journal: its parents, its events (ChainedEvent) and the check of one history."""

    key: str  # its name in a checkpoint document
    label: str  # a parent in French, e.g. "demande"
    parent_model: type
    event_model: type
    check: Callable  # (parent, events ordered by seq) -> French problem or None

    @property
    def field(self):
        return self.event_model.CHAIN_PARENT


# Every journal verify_audit walks and anchor_audit records (a checkpoint written before a journal
# was listed here simply has no heads for it).
CHAINS = (
    Chain("claims", "demande", Claim, ClaimEvent, claim_audit_problem),
    Chain("enrolments", "enrôlement", Enrolment, EnrolmentEvent, enrolment_problem),
    Chain("bank_details", "coordonnées bancaires", BankDetailsChange, BankDetailsEvent, bank_details_problem),
    Chain("payment_batches", "lot de paiement (identifiant)", PaymentBatch, PaymentBatchEvent, batch_audit_problem),
)


# --- Checkpoints ------------------------------------------------------------------------------------


def chain_heads():
    """{"claims": {"<id>": [last seq, head]}, "enrolments": {…}, …} for every object with a history."""
    heads = {}
    for chain in CHAINS:
        rows = (
            chain.parent_model.objects.annotate(last_seq=Max("events__seq"))
            .filter(last_seq__isnull=False)
            .values_list("pk", "last_seq", "audit_head")
        )
        heads[chain.key] = {str(pk): [seq, head] for pk, seq, head in rows}
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
    """(problem, counts): the first inconsistency found in French (None when every journal is intact)
    and {"events", "claims", "enrolments", "bank_details", "payment_batches", "checkpoint"} checked.
    `checkpoint` defaults to the latest one."""
    counts = {"events": 0, **{chain.key: 0 for chain in CHAINS}, "checkpoint": None}
    if checkpoint is None:
        checkpoint = AuditCheckpoint.objects.order_by("-pk").first()
    expected = {}
    if checkpoint is not None:
        problem = checkpoint_problem(checkpoint)
        if problem:
            return problem, counts
        document = json.loads(checkpoint.document)
        expected = {chain.key: dict(document.get(chain.key, {})) for chain in CHAINS}
        counts["checkpoint"] = checkpoint
    for chain in CHAINS:
        heads = expected.get(chain.key, {})
        parents = chain.parent_model.objects.order_by("pk").only("pk", "state", "audit_head")
        for parent in parents.iterator(chunk_size=500):
            events = list(chain.event_model.objects.filter(**{f"{chain.field}_id": parent.pk}).order_by("seq", "pk"))
            problem = chain.check(parent, events)
            if problem is None and str(parent.pk) in heads:
                seq, head = heads.pop(str(parent.pk))
                if len(events) < seq or events[seq - 1].hash != head:
                    problem = (
                        f"{chain.label} n° {parent.pk} : l'historique ne prolonge plus le point de contrôle "
                        f"du {document['created_at'][:16].replace('T', ' ')} (rang {seq} réécrit ou supprimé)"
                    )
            if problem:
                return problem, counts
            counts["events"] += len(events)
            counts[chain.key] += 1
            if progress and counts[chain.key] % 1000 == 0:
                progress(chain.key, counts[chain.key])
        if heads:
            missing = ", ".join(sorted(heads, key=int)[:5])
            return f"{chain.label} n° {missing} : présent(e)s au point de contrôle, disparu(e)s depuis", counts
    return None, counts
