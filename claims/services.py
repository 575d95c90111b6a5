"""Every write on claims: transitions, proofs, counts, extensions, reminders.

Each service locks what it changes, checks role, state and guards, writes, appends the
audit event in the same transaction and schedules notifications with `on_commit`.
"""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from claims import notifications, pricing, selectors
from claims.enums import EDITABLE_STATES, UPLOADABLE_KINDS, ClaimKind, ClaimState, DocumentKind
from claims.models import Claim, ClaimEvent, DeadlineExtension, Document, SentNotification
from claims.uploads import inspect_upload
from claims.workflow import TRANSITIONS, correction_due_default, failed_guards, may_open
from common.audit import append_event
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from common.formatting import euros, vat_rate
from common.roles import Role, actor_label, has_role, is_agent, operator_id_of
from funding import services as funding_services
from funding.calendar import paris_today
from operators.models import Operator
from operators.services.contracts import contract_v2_signed_uploaded
from operators.services.fraud import fraud_signals_detect

logger = logging.getLogger(__name__)

COMMENT_REQUIRED = "Un commentaire motivé est obligatoire pour cette action."


# --- Audit ----------------------------------------------------------------------------------


def _append_event(*, claim, actor, action, from_state, to_state, comment="", at):
    """Append one hash-chained event and e-mail it after commit; the caller holds the lock on `claim`."""
    event = append_event(
        parent=claim,
        event_model=ClaimEvent,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        at=at,
    )
    transaction.on_commit(lambda: notifications.schedule_event_notification(event.pk))
    return event


def _lock(claim):
    """Lock the operator, then the claim (always in this order, so two services never deadlock)."""
    Operator.objects.select_for_update().filter(pk=claim.operator_id).first()
    return (
        Claim.objects.select_for_update(of=("self",))
        .select_related("operator", "campaign", "campaign__schedule")
        .get(pk=claim.pk)
    )


# --- Transitions ----------------------------------------------------------------------------


def _transition(*, claim, name, actor, comment="", at=None, prepare=None, after=None):
    """Fire transition `name` on `claim` as `actor`; return the refreshed claim.

    `prepare(locked)` returns extra fields to write with the state; `after(claim)` runs in the
    same transaction once the state and its event are written (letters, recovery cases).

    Raises NotAllowed (role), StateConflict (state, or a concurrent request won the race),
    InvalidInput (missing comment) or GuardFailed (what is missing, in French).
    """
    transition = TRANSITIONS[name]
    at = at or timezone.now()
    comment = (comment or "").strip()
    with transaction.atomic():
        locked = _lock(claim)
        if not has_role(actor, transition.role, operator_id=locked.operator_id):
            raise NotAllowed()
        if locked.state not in transition.sources:
            raise StateConflict(
                f"Action « {transition.label} » impossible : la demande est « {locked.get_state_display()} »."
            )
        if transition.comment_required and not comment:
            raise InvalidInput(COMMENT_REQUIRED, code="comment_required", errors={"comment": [COMMENT_REQUIRED]})
        missing = failed_guards(transition, locked, actor=actor, at=at)
        if missing:
            raise GuardFailed(
                f"Action « {transition.label} » impossible : " + " ".join(missing), errors={"guards": missing}
            )
        fields = prepare(locked) if prepare else {}
        fields.update(state=transition.target, updated_at=at)
        # Conditional update: a count other than 1 means another request changed the state first.
        if Claim.objects.filter(pk=locked.pk, state=locked.state).update(**fields) != 1:
            raise StateConflict("La demande vient d'être modifiée par ailleurs ; rechargez-la.")
        _append_event(
            claim=locked,
            actor=actor,
            action=name,
            from_state=locked.state,
            to_state=transition.target,
            comment=comment,
            at=at,
        )
        if after is not None:
            locked.refresh_from_db()
            after(locked)
    return Claim.objects.select_related("operator", "campaign").get(pk=claim.pk)


def _frozen_computation(claim, *, at):
    """The amount and its inputs, frozen on the claim at (re)submission (claims.pricing).

    Mailboxes already counted in another operator's approved or paid claim of the campaign (a
    transferred park) are left out by funding, which records the addresses counted here. The
    filing guard has checked that every type is established.
    """
    funded_elsewhere = (
        Claim.objects.filter(campaign=claim.campaign, state__in=(ClaimState.APPROVED, ClaimState.PAID))
        .exclude(operator=claim.operator)
        .values_list("operator_id", flat=True)
    )
    basis = pricing.counting_basis(claim, at=at)
    frozen_counts = funding_services.claim_counts_freeze(
        campaign=claim.campaign, operator=claim.operator, basis=basis, funded_operator_ids=set(funded_elsewhere)
    )
    priced = pricing.price(claim, counts=frozen_counts.counts, sources=frozen_counts.sources, basis=basis)
    return priced.as_fields()


def claim_submit(*, claim, actor, at=None):
    """Submit a draft: the amount is frozen and the operator gets its receipt (attach_receipt)."""
    at = at or timezone.now()
    return _transition(
        claim=claim,
        name="submit",
        actor=actor,
        at=at,
        prepare=lambda c: {**_frozen_computation(c, at=at), "submitted_at": at},
        after=lambda c: attach_receipt(claim=c, actor=actor, resubmission=False, at=at),
    )


def claim_resubmit(*, claim, actor, comment="", at=None):
    """Answer a correction request: the amount is frozen again and a new receipt is issued."""
    at = at or timezone.now()
    return _transition(
        claim=claim,
        name="resubmit",
        actor=actor,
        comment=comment,
        at=at,
        prepare=lambda c: {**_frozen_computation(c, at=at), "submitted_at": at},
        after=lambda c: attach_receipt(claim=c, actor=actor, resubmission=True, at=at),
    )


def attach_receipt(*, claim, actor, resubmission, at):
    """The receipt (accusé de dépôt) of a (re)submission: a PDF listing the claim, its frozen amounts
    and every proof filed (latest version of each kind: name, version, SHA-256), stored with the claim
    as a new version of kind RECEIPT and e-mailed to the operator after commit.

    The caller holds the lock on the claim, in the transaction of the transition.
    """
    from django.core.files.base import ContentFile

    from claims.letters import filing_receipt

    proofs = sorted(selectors.latest_documents(claim=claim).values(), key=lambda d: (d.kind, d.version))
    proofs = [d for d in proofs if d.kind in UPLOADABLE_KINDS]
    content = filing_receipt(
        claim=claim, documents=proofs, filed_by=actor_label(actor), resubmission=resubmission, at=at
    )
    version = _next_version(claim, DocumentKind.RECEIPT)
    name = f"accuse-de-depot-{claim.pk}-v{version}.pdf"
    sha256 = hashlib.sha256(content).hexdigest()
    document = _store_document(
        claim=claim,
        actor=actor,
        kind=DocumentKind.RECEIPT,
        version=version,
        name=name,
        content=ContentFile(content),
        content_type="application/pdf",
        size=len(content),
        sha256=sha256,
        action="receipt",
        comment=f"Accusé de dépôt {name} (SHA-256 {sha256[:12]}…)",
        at=at,
    )
    transaction.on_commit(lambda: notifications.schedule_decision_letter(document.pk))
    return document


def claim_take(*, claim, actor, at=None):
    return _transition(claim=claim, name="take", actor=actor, at=at, prepare=lambda c: {"assigned_to": actor})


def claim_request_changes(*, claim, actor, comment, due=None, at=None):
    at = at or timezone.now()
    due = due or correction_due_default(paris_today(at=at))
    if due <= paris_today(at=at):
        message = "La date de réponse attendue doit être postérieure à aujourd'hui."
        raise InvalidInput(message, errors={"due": [message]})
    return _transition(
        claim=claim,
        name="request_changes",
        actor=actor,
        comment=comment,
        at=at,
        prepare=lambda c: {"correction_message": comment.strip(), "correction_due": due},
    )


def claim_approve(*, claim, actor, comment="", at=None):
    """Approve, send the approval letter; a balance below the advance paid opens a recovery case."""
    at = at or timezone.now()

    def letter_and_recovery(approved):
        paragraphs = [
            f"Après instruction, votre demande est approuvée pour un montant de {euros(approved.amount)} HT, "
            f"soit {euros(approved.amount_to_pay)} à verser ({_vat_words(approved)})."
            if approved.amount >= 0
            else "Après instruction, le solde définitif de votre financement est inférieur à l'avance versée.",
        ]
        if comment.strip():
            paragraphs.append(f"Observations de l'instructeur : {comment.strip()}")
        if approved.amount > 0:
            paragraphs.append("Le paiement sera effectué par virement sur le compte déclaré lors de l'enrôlement.")
        attach_decision_letter(
            claim=approved, actor=actor, title="Décision d'approbation", paragraphs=paragraphs, at=at
        )
        if approved.kind == ClaimKind.BALANCE and approved.amount < 0:
            from claims import recoveries

            advance = selectors.paid_advance(operator=approved.operator, campaign=approved.campaign)
            # Stated and collected in the terms paid: VAT included where the advance carried VAT.
            recoveries.recovery_open(
                claim=approved,
                amount=-approved.amount_to_pay,
                grounds=(
                    f"Le financement définitif ({euros(approved.funded_total)} HT) est inférieur à l'avance "
                    f"versée ({euros(advance.amount_excl_vat)} HT, {euros(advance.amount)} versés) : "
                    f"la différence ({euros(-approved.amount)} HT, {euros(-approved.amount_to_pay)} "
                    f"{_vat_words(approved)}) a été perçue à tort."
                ),
                payments=[advance],
                actor=actor,
                at=at,
            )

    return _transition(
        claim=claim,
        name="approve",
        actor=actor,
        comment=comment,
        at=at,
        prepare=lambda c: {"approved_by": actor, "decided_at": at, "decision_reason": comment.strip()},
        after=letter_and_recovery,
    )


def claim_reject(*, claim, actor, comment, at=None):
    at = at or timezone.now()

    def letter(rejected):
        attach_decision_letter(
            claim=rejected,
            actor=actor,
            title="Décision de rejet",
            paragraphs=[
                "Après instruction, votre demande est rejetée pour le motif suivant :",
                comment.strip(),
                "Vous pouvez présenter un recours gracieux auprès de l'agence de paiement dans un délai de "
                "deux mois à compter de la réception de ce courrier.",
            ],
            at=at,
        )

    return _transition(
        claim=claim,
        name="reject",
        actor=actor,
        comment=comment,
        at=at,
        prepare=lambda c: {"decided_at": at, "decision_reason": comment.strip()},
        after=letter,
    )


def _vat_words(claim):
    if not claim.vat:
        return "sans TVA"
    return f"dont TVA {vat_rate(claim.vat_rate)} : {euros(abs(claim.vat))}"


def attach_decision_letter(*, claim, actor, title, paragraphs, at=None):
    """Generate a decision letter, store it with the claim and e-mail it to the operator after commit.

    The caller holds the lock on the claim (it runs inside a transition or a recovery step).
    """
    from django.core.files.base import ContentFile

    from claims.letters import decision_letter

    at = at or timezone.now()
    content = decision_letter(claim=claim, title=title, paragraphs=paragraphs, signed_by=actor_label(actor), at=at)
    version = _next_version(claim, DocumentKind.DECISION_LETTER)
    name = f"{title.lower().replace(' ', '-').replace(chr(39), '-')}-{claim.pk}-v{version}.pdf"
    sha256 = hashlib.sha256(content).hexdigest()
    document = _store_document(
        claim=claim,
        actor=actor,
        kind=DocumentKind.DECISION_LETTER,
        version=version,
        name=name,
        content=ContentFile(content),
        content_type="application/pdf",
        size=len(content),
        sha256=sha256,
        action="letter",
        comment=f"{title} : lettre générée ({name}, SHA-256 {sha256[:12]}…)",
        at=at,
    )
    transaction.on_commit(lambda: notifications.schedule_decision_letter(document.pk))
    return document


def claim_reopen(*, claim, actor, comment, at=None):
    return _transition(
        claim=claim, name="reopen", actor=actor, comment=comment, at=at, prepare=lambda c: {"approved_by": None}
    )


def claim_mark_paid(*, claim, actor, reference, paid_on=None, at=None):
    """Confirm the claim's payment by hand (four-eyes, never above the operator's funded total).

    `paid_on` (default today, Paris) is neither in the future nor before the approval. When the claim
    is in a live batch, that line is confirmed (its offsets settled, the batch settled once every line
    is); otherwise the payment was made outside any batch.
    """
    at = at or timezone.now()
    reference = (reference or "").strip()
    if not reference:
        message = "La référence du virement est obligatoire."
        raise InvalidInput(message, errors={"reference": [message]})
    today = paris_today(at=at)
    paid_on = paid_on or today
    if paid_on > today:
        message = f"La date de paiement ({paid_on:%d/%m/%Y}) ne peut pas être dans le futur."
        raise InvalidInput(message, errors={"paid_on": [message]})
    confirmed = {}

    def record_payment(locked):
        from claims import payments

        approved_on = timezone.localtime(locked.decided_at).date() if locked.decided_at else None
        if approved_on is not None and paid_on < approved_on:
            message = (
                f"La date de paiement ({paid_on:%d/%m/%Y}) ne peut pas précéder l'approbation ({approved_on:%d/%m/%Y})."
            )
            raise InvalidInput(message, errors={"paid_on": [message]})
        _, confirmed["attempt"] = payments.record_settled_payment(
            claim=locked, paid_on=paid_on, reference=reference, recorded_by=actor, at=at
        )
        return {}

    def settle_batch(paid):
        from claims import payments

        attempt = confirmed.get("attempt")
        if attempt is not None:
            payments._batch_refresh(
                batch_id=attempt.batch_id, at=at, comment=f"Paiement de la demande n° {paid.pk} confirmé à la main."
            )

    return _transition(
        claim=claim,
        name="mark_paid",
        actor=actor,
        comment=f"Virement {reference}",
        at=at,
        prepare=record_payment,
        after=settle_batch,
    )


def claim_withdraw(*, claim, actor, comment="", at=None):
    return _transition(claim=claim, name="withdraw", actor=actor, comment=comment, at=at)


def claim_lapse(*, claim, at=None):
    return _transition(claim=claim, name="lapse", actor=None, at=at, comment="Date limite de dépôt dépassée.")


# --- Creating and editing a draft --------------------------------------------------------------


def claim_create(*, operator, campaign, kind, actor, technical_doc_url="", at=None):
    """Open a draft claim for the operator; refused after the filing deadline or when one is live."""
    at = at or timezone.now()
    if not (has_role(actor, Role.OPERATOR, operator_id=operator.pk) or is_agent(actor, Role.INSTRUCTOR)):
        raise NotAllowed()
    claim = Claim(operator=operator, campaign=campaign, kind=ClaimKind(kind), technical_doc_url=technical_doc_url)
    missing = may_open(claim, actor=actor, at=at)
    if missing:
        raise GuardFailed(" ".join(missing), errors={"guards": missing})
    try:
        with transaction.atomic():
            claim.save()
            _append_event(
                claim=claim,
                actor=actor,
                action="create",
                from_state=ClaimState.DRAFT,
                to_state=ClaimState.DRAFT,
                comment="Demande créée.",
                at=at,
            )
    except IntegrityError:
        raise StateConflict(
            f"Une demande « {ClaimKind(kind).label} » est déjà en cours pour cet opérateur et cette campagne."
        ) from None
    return claim


# What a balance declares beside its proofs, with how the history writes each change.
DETAIL_FIELDS = {
    "technical_doc_url": "Lien de documentation technique",
    "deployment_date": "Date de déploiement du connecteur",
    "technical_contact_name": "Contact technique (nom)",
    "technical_contact_email": "Contact technique (e-mail)",
    "installation_date": "Date d'installation figurant sur la facture",
}


def _detail_text(value):
    if value in (None, ""):
        return "(vide)"
    return f"{value:%d/%m/%Y}" if hasattr(value, "strftime") else str(value)


def claim_update_details(*, claim, actor, at=None, **details):
    """The operator fills in what a claim declares (DETAIL_FIELDS) while it is editable; only the
    fields given change, each change written in the history."""
    at = at or timezone.now()
    unknown = set(details) - set(DETAIL_FIELDS)
    if unknown:
        raise InvalidInput(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    details = {name: value.strip() if isinstance(value, str) else value for name, value in details.items()}
    with transaction.atomic():
        locked = _lock(claim)
        if not has_role(actor, Role.OPERATOR, operator_id=locked.operator_id):
            raise NotAllowed()
        if locked.state not in EDITABLE_STATES:
            raise StateConflict("La demande ne peut plus être modifiée dans son état actuel.")
        changed = {name: value for name, value in details.items() if getattr(locked, name) != value}
        if changed:
            Claim.objects.filter(pk=locked.pk).update(**changed, updated_at=at)
            _append_event(
                claim=locked,
                actor=actor,
                action="update",
                from_state=locked.state,
                to_state=locked.state,
                comment=" ; ".join(f"{DETAIL_FIELDS[name]} : {_detail_text(value)}" for name, value in changed.items()),
                at=at,
            )
    return Claim.objects.get(pk=claim.pk)


# --- Proofs -----------------------------------------------------------------------------------


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
    content_type, size, sha256, display_name = inspect_upload(uploaded_file)
    with transaction.atomic():
        locked = _lock(claim)
        if not (has_role(actor, Role.OPERATOR, operator_id=locked.operator_id) or is_agent(actor, Role.INSTRUCTOR)):
            raise NotAllowed()
        if locked.state not in EDITABLE_STATES:
            raise StateConflict("Les pièces ne peuvent être ajoutées qu'à une demande en brouillon ou en complément.")
        version = _next_version(locked, kind)
        document = _store_document(
            claim=locked,
            actor=actor,
            kind=kind,
            version=version,
            name=display_name,
            content=uploaded_file,
            content_type=content_type,
            size=size,
            sha256=sha256,
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


def _next_version(claim, kind):
    return (claim.documents.filter(kind=kind).aggregate(last=Max("version"))["last"] or 0) + 1


def _store_document(*, claim, actor, kind, version, name, content, content_type, size, sha256, action, comment, at):
    """Store a document version and log it on the claim; the caller holds the lock on `claim`.

    The file is written first under a fresh name; if the row or its event cannot be written,
    the file is removed, so a stored file never outlives a rolled-back row.
    """
    document = Document(
        operator_id=claim.operator_id,
        claim=claim,
        kind=kind,
        version=version,
        original_name=name,
        content_type=content_type,
        size=size,
        sha256=sha256,
        uploaded_by=actor,
    )
    document.file.save(name, content, save=False)
    try:
        document.save()
        _append_event(
            claim=claim,
            actor=actor,
            action=action,
            from_state=claim.state,
            to_state=claim.state,
            comment=comment,
            at=at,
        )
    except Exception:
        document.file.storage.delete(document.file.name)
        raise
    return document


# --- Deadline extensions -----------------------------------------------------------


def deadline_extension_grant(*, operator, campaign, kind, new_deadline, reason, actor, at=None):
    """A validator extends one operator's filing deadline, with a reason; logged on its live claim."""
    at = at or timezone.now()
    if not is_agent(actor, Role.VALIDATOR):
        raise NotAllowed()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(COMMENT_REQUIRED, errors={"reason": [COMMENT_REQUIRED]})
    current = selectors.effective_deadline(operator=operator, campaign=campaign, kind=kind)
    if new_deadline <= current:
        message = f"La nouvelle date limite doit être postérieure au {current:%d/%m/%Y}."
        raise InvalidInput(message, errors={"new_deadline": [message]})
    with transaction.atomic():
        extension = DeadlineExtension.objects.create(
            operator=operator, campaign=campaign, kind=kind, new_deadline=new_deadline, reason=reason, granted_by=actor
        )
        live = selectors.live_claim(operator=operator, campaign=campaign, kind=kind)
        if live is not None:
            locked = _lock(live)
            _append_event(
                claim=locked,
                actor=actor,
                action="extend_deadline",
                from_state=locked.state,
                to_state=locked.state,
                comment=f"Date limite prolongée au {new_deadline:%d/%m/%Y} : {reason}",
                at=at,
            )
    return extension


# --- Daily housekeeping -----------------------------------------------------------------------


def _once(key):
    """Claim the right to send notification `key`; False when it was already sent."""
    _, created = SentNotification.objects.get_or_create(key=key)
    return created


def lapse_overdue_drafts(*, at=None):
    """Lapse every draft whose operator's effective deadline has passed. Returns how many."""
    at = at or timezone.now()
    lapsed = 0
    drafts = selectors.with_effective_deadline(Claim.objects.filter(state=ClaimState.DRAFT))
    for claim in drafts.filter(effective_deadline__lt=paris_today(at=at)).select_related("operator", "campaign"):
        try:
            claim_lapse(claim=claim, at=at)
            lapsed += 1
        except (StateConflict, GuardFailed):
            logger.info("claim %s changed before it could lapse", claim.pk)
    return lapsed


def send_deadline_reminders(*, today, thresholds):
    """Remind operators of drafts N days before their deadline, once per claim and threshold."""
    sent = 0
    horizon = today + timedelta(days=max(thresholds, default=-1))
    drafts = selectors.with_effective_deadline(Claim.objects.filter(state=ClaimState.DRAFT))
    for claim in drafts.filter(effective_deadline__range=(today, horizon)):
        deadline = claim.effective_deadline
        days_left = (deadline - today).days
        threshold = min(n for n in thresholds if days_left <= n)  # the closest reached; a missed day still sends it
        with transaction.atomic():
            if _once(f"deadline:{claim.pk}:{deadline.isoformat()}:{threshold}"):
                transaction.on_commit(
                    lambda c=claim.pk, d=deadline, n=days_left: notifications.schedule_deadline_reminder(c, d, n)
                )
                sent += 1
    return sent


def send_correction_reminders(*, today, days_before=3):
    """Remind operators before a correction is due; alert the agent once it is overdue."""
    sent = 0
    for claim in Claim.objects.filter(state=ClaimState.CHANGES_REQUESTED, correction_due__isnull=False):
        due = claim.correction_due
        if today > due:
            key, kind = f"correction-overdue:{claim.pk}:{due.isoformat()}", "overdue"
        elif (due - today).days <= days_before:
            key, kind = f"correction-reminder:{claim.pk}:{due.isoformat()}", "reminder"
        else:
            continue
        with transaction.atomic():
            if _once(key):
                transaction.on_commit(lambda c=claim.pk, k=kind: notifications.schedule_correction_notice(c, k))
                sent += 1
    return sent


def daily_housekeeping(*, at=None, thresholds=None):
    at = at or timezone.now()
    today = paris_today(at=at)
    return {
        "lapsed": lapse_overdue_drafts(at=at),
        "deadline_reminders": send_deadline_reminders(
            today=today, thresholds=thresholds or settings.DEADLINE_REMINDER_DAYS
        ),
        "correction_notices": send_correction_reminders(today=today),
    }


def claim_transition_options(*, user, claim, at=None):
    """The transitions `user` could fire from the claim's state, each with what still blocks it.

    Returns [(transition, [missing messages])]: an empty list means it may be fired now.
    """
    at = at or timezone.now()
    return [
        (transition, failed_guards(transition, claim, actor=user, at=at))
        for transition in TRANSITIONS.values()
        if claim.state in transition.sources and has_role(user, transition.role, operator_id=claim.operator_id)
    ]


def claim_abilities(*, user, claim, at=None):
    """What `user` may do on `claim` now: {transition name: bool}. Used by API, admin and portal."""
    possible = {t.name for t, missing in claim_transition_options(user=user, claim=claim, at=at) if not missing}
    abilities = {name: name in possible for name in TRANSITIONS}
    abilities["upload"] = claim.state in EDITABLE_STATES and (
        operator_id_of(user) == claim.operator_id or is_agent(user, Role.INSTRUCTOR)
    )
    return abilities
