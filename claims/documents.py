"""Claim documents: proofs uploaded, receipts and decision letters generated, each a new version
stored with the claim and logged in its history. The lowest layer of the claim writes: the filing
and review services, the recovery procedure and the payments all store their documents here.
"""

import hashlib

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from claims import notifications, selectors
from claims.enums import EDITABLE_STATES, GENERATED_KINDS, UPLOADABLE_KINDS, DocumentKind
from claims.letters import decision_letter, filing_receipt
from claims.models import Document
from claims.uploads import inspect_upload
from claims.workflow import append_claim_event, lock_claim
from common import scanning
from common.exceptions import InvalidInput, NotAllowed, StateConflict
from common.roles import Role, actor_label, has_role, is_agent
from operators.services.contracts import contract_v2_signed_uploaded
from operators.services.fraud import fraud_signals_detect


def document_upload(*, claim, actor, kind, uploaded_file, at=None):
    """Store a new version of a proof. The file is checked before anything is written."""
    at = at or timezone.now()
    try:
        kind = DocumentKind(kind)
        if kind not in UPLOADABLE_KINDS:
            raise ValueError(kind)
    except ValueError:
        message = "Type de pièce inconnu."
        raise InvalidInput(message, errors={"kind": [message]}) from None
    inspection = inspect_upload(uploaded_file)
    _content_type, _size, sha256, display_name = inspection
    with transaction.atomic():
        locked = lock_claim(claim)
        if not (has_role(actor, Role.OPERATOR, operator_id=locked.operator_id) or is_agent(actor, Role.INSTRUCTOR)):
            raise NotAllowed()
        if locked.state not in EDITABLE_STATES:
            raise StateConflict("Les pièces ne peuvent être ajoutées qu'à une demande en brouillon ou en complément.")
        version = next_version(locked, kind)
        document = store_document(
            claim=locked,
            actor=actor,
            kind=kind,
            version=version,
            content=uploaded_file,
            inspection=inspection,
            action="document",
            comment=f"Pièce déposée : {kind.label} v{version} — {display_name} (SHA-256 {sha256[:12]}…)",
            at=at,
        )
        fraud_signals_detect(sha256s=[sha256], at=at)  # the same file elsewhere: a fraud flag (issue 12)
        if kind == DocumentKind.CONTRACT_V2:  # a task for ANS: countersign it (operators.services.contracts)
            contract_v2_signed_uploaded(
                operator=locked.operator,
                actor=actor,
                at=at,
                document_label=f"Demande n° {locked.pk} — {document}",
                document_sha256=sha256,
            )
        return document


def next_version(claim, kind):
    return (claim.documents.filter(kind=kind).aggregate(last=Max("version"))["last"] or 0) + 1


def store_document(*, claim, actor, kind, version, content, inspection, action, comment, at):
    """Store a document version and log it on the claim; the caller holds the lock on `claim`.

    The file is written first under a fresh name; if the row or its event cannot be written,
    the file is removed, so a stored file never outlives a rolled-back row.
    """
    document = scanning.store_file(
        Document,
        content=content,
        inspection=inspection,
        uploaded_by=actor,
        generated=kind in GENERATED_KINDS,
        operator_id=claim.operator_id,
        claim=claim,
        kind=kind,
        version=version,
    )
    try:
        append_claim_event(claim=claim, actor=actor, action=action, comment=comment, at=at)
    except Exception:
        document.file.storage.delete(document.file.name)
        raise
    return document


def attach_receipt(*, claim, actor, resubmission, at):
    """The receipt (accusé de dépôt) of a (re)submission: a PDF listing the claim, its frozen amounts
    and every proof filed (latest version of each kind: name, version, SHA-256), stored with the claim
    as a new version of kind RECEIPT and e-mailed to the operator after commit.

    The caller holds the lock on the claim, in the transaction of the transition.
    """

    proofs = sorted(selectors.latest_documents(claim=claim).values(), key=lambda d: (d.kind, d.version))
    proofs = [d for d in proofs if d.kind in UPLOADABLE_KINDS]
    content = filing_receipt(
        claim=claim, documents=proofs, filed_by=actor_label(actor), resubmission=resubmission, at=at
    )
    return _store_generated_pdf(
        claim=claim,
        actor=actor,
        kind=DocumentKind.RECEIPT,
        content=content,
        stem="accuse-de-depot",
        action="receipt",
        comment=lambda name, sha256: f"Accusé de dépôt {name} (SHA-256 {sha256[:12]}…)",
        at=at,
    )


def attach_decision_letter(*, claim, actor, title, paragraphs, at=None):
    """Generate a decision letter, store it with the claim and e-mail it to the operator after commit.

    The caller holds the lock on the claim (it runs inside a transition or a recovery step).
    """

    at = at or timezone.now()
    content = decision_letter(claim=claim, title=title, paragraphs=paragraphs, signed_by=actor_label(actor), at=at)
    return _store_generated_pdf(
        claim=claim,
        actor=actor,
        kind=DocumentKind.DECISION_LETTER,
        content=content,
        stem=title.lower().replace(" ", "-").replace("'", "-"),
        action="letter",
        comment=lambda name, sha256: f"{title} : lettre générée ({name}, SHA-256 {sha256[:12]}…)",
        at=at,
    )


def _store_generated_pdf(*, claim, actor, kind, content, stem, action, comment, at):
    """A PDF the platform generated, stored as the next version of `kind` (« {stem}-{claim}-v{n}.pdf »)
    and e-mailed to the operator after commit; `comment(name, sha256)` is the history's line."""
    version = next_version(claim, kind)
    name = f"{stem}-{claim.pk}-v{version}.pdf"
    sha256 = hashlib.sha256(content).hexdigest()
    document = store_document(
        claim=claim,
        actor=actor,
        kind=kind,
        version=version,
        content=ContentFile(content),
        inspection=("application/pdf", len(content), sha256, name),
        action=action,
        comment=comment(name, sha256),
        at=at,
    )
    transaction.on_commit(lambda: notifications.schedule_decision_letter(document.pk))
    return document
