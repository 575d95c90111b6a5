"""Paying claims: payment batches (SEPA pain.001 orders), their confirmation and the bank's returns.

A `valideur` orders payment by creating a batch: the approved claims he or she did not approve,
each on the operator's validated account, frozen on a batch line with its own EndToEndId; issued
recovery orders of the same operator are offset against its transfer. The file is generated once,
stored with its SHA-256 and served as stored. A payment is confirmed by hand (`claim_mark_paid`)
or by the bank's return file (`bank_return_import`): accepted → the claim is paid on the booking
date; rejected or returned → the line is closed as returned and the claim is payable again.

"Payable", "ordered" and "returned" are read from the lines (claims.selectors), never claim states.
Lock order everywhere: operators, then claims, then batches.
"""

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from sepaxml import SepaTransfer

from claims import bank_returns, recoveries, selectors, sepa
from claims.enums import AttemptState, BatchState, ClaimState
from claims.models import BankReturn, Claim, Payment, PaymentAttempt, PaymentBatch, PaymentBatchEvent, Recovery
from claims.workflow import BATCH_TRANSITIONS, TRANSITIONS, append_claim_event, lock_claim
from common.audit import append_event
from common.exceptions import DomainError, GuardFailed, InvalidInput, NotAllowed, StateConflict
from common.formatting import euros, masked_iban, paris_date
from common.roles import Role, actor_label, is_agent
from funding.calendar import paris_today
from operators.models import Operator
from operators.selectors import payment_blockers, validated_bank_details

logger = logging.getLogger(__name__)

REASON_REQUIRED = BATCH_TRANSITIONS.comment_message
FIX_BANK_DETAILS = (
    "La demande est de nouveau payable : vérifiez vos coordonnées bancaires et, si elles ont changé, "
    "transmettez un nouveau RIB à l'agence."
)


# --- The batch state machine (claims.workflow.BATCH_TRANSITIONS) --------------------------------------


def payment_batch_mark_sent(*, batch: PaymentBatch, actor: User, at: datetime | None = None) -> PaymentBatch:
    """The validator records that the file was handed to the bank."""
    return BATCH_TRANSITIONS.fire(batch, "send", actor=actor, comment="Fichier transmis à la banque.", at=at)


def payment_batch_cancel(*, batch: PaymentBatch, actor: User, reason: str, at: datetime | None = None) -> PaymentBatch:
    """Cancel a batch none of whose lines is resolved yet (reason required): every line is closed as
    cancelled, each claim's history says so, and the claims are payable again."""
    at = at or timezone.now()
    if not is_agent(actor, Role.VALIDATOR):
        raise NotAllowed()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(REASON_REQUIRED, code="comment_required", errors={"reason": [REASON_REQUIRED]})
    with transaction.atomic():
        lines = list(batch.lines.select_related("claim").order_by("claim__operator_id", "claim_id"))
        locked_claims = [lock_claim(line.claim) for line in lines]
        batch = BATCH_TRANSITIONS.fire(
            batch, "cancel", actor=actor, comment=reason, at=at, prepare=lambda locked: {"cancel_reason": reason}
        )
        for line, claim in zip(lines, locked_claims, strict=True):
            if PaymentAttempt.objects.filter(pk=line.pk, state=AttemptState.ORDERED).update(
                state=AttemptState.CANCELLED, resolved_at=at, return_reason=reason[:200]
            ):
                append_claim_event(
                    claim=claim,
                    actor=actor,
                    action="payment_order_cancelled",
                    comment=f"Ordre de paiement annulé (lot {batch.number}, {line.end_to_end_id}) : {reason}",
                    at=at,
                )
    return batch


def batch_refresh(*, batch_id: int, at: datetime, comment: str) -> PaymentBatch:
    """Once no line of the batch is still ordered: settled, or partly returned when a line came back."""
    batch = PaymentBatch.objects.get(pk=batch_id)
    lines = batch.lines.all()
    if batch.state == BatchState.CANCELLED or lines.filter(state=AttemptState.ORDERED).exists():
        return batch
    name = "partly_return" if lines.filter(state=AttemptState.RETURNED).exists() else "settle"
    if batch.state == BATCH_TRANSITIONS[name].target or batch.state not in BATCH_TRANSITIONS[name].sources:
        return batch
    return BATCH_TRANSITIONS.fire(batch, name, actor=None, comment=comment, at=at)


# --- Creating a batch --------------------------------------------------------------------------------


@dataclass
class BatchOutcome:
    batch: PaymentBatch
    left_out: list[str] = field(default_factory=list)  # French sentences: which claim, and why


def _why_not_payable(claim: Claim, *, actor: User, at: datetime, blockers: dict[int, list[str]]) -> list[str]:
    """Why `claim` (locked) cannot go into a batch ordered by `actor` now, in French; [] when it can."""
    if claim.state != ClaimState.APPROVED:
        return [f"elle est « {claim.get_state_display()} », pas « Approuvée »."]
    attempt = selectors.live_attempt(claim=claim)
    if attempt is not None:
        return [f"elle figure déjà dans le lot n° {attempt.batch.number} ({attempt.get_state_display().lower()})."]
    # The rules of paying (four-eyes, advance first, within the funded total) are those of mark_paid.
    missing = TRANSITIONS["mark_paid"].failed_guards(claim, actor=actor, at=at)
    if not missing and not claim.amount_to_pay:
        missing = ["le montant à verser est nul."]
    if claim.operator_id not in blockers:
        blockers[claim.operator_id] = payment_blockers(operator=claim.operator)
    return missing + blockers[claim.operator_id]


def _end_to_end_id(number: int, claim: Claim) -> str:
    # Unique across batches (the batch number is in it; a claim is at most once in a batch). ≤ 35 chars.
    return f"SEGUR-L{number}-D{claim.pk}"


def _lines_with_offsets(
    claims: Iterable[Claim], *, number: int
) -> tuple[list[PaymentAttempt], dict[str, list[Recovery]]]:
    """Batch lines (unsaved) for `claims`, each with the issued recoveries of its operator it offsets.

    A recovery is offset whole, on one line, and only while the transfer stays above zero; one that
    does not fit waits for a later payment or is recovered by its order.
    """
    lines: list[PaymentAttempt] = []
    offsets: dict[str, list[Recovery]] = {}
    pools: dict[int, list[Recovery]] = {}
    for claim in claims:
        details = validated_bank_details(operator=claim.operator)
        # What `_why_not_payable` let through: validated bank details and a computed amount.
        assert details is not None and claim.amount is not None and claim.amount_to_pay is not None
        iban, bic = details
        if claim.operator_id not in pools:
            pools[claim.operator_id] = list(selectors.offsettable_recoveries(operator=claim.operator))
        taken: list[Recovery] = []
        remaining = claim.amount_to_pay
        for recovery in list(pools[claim.operator_id]):
            assert recovery.amount_due is not None  # offsettable_recoveries: amount_due > 0
            if recovery.amount_due < remaining:
                taken.append(recovery)
                remaining -= recovery.amount_due
                pools[claim.operator_id].remove(recovery)
        offset = claim.amount_to_pay - remaining
        line = PaymentAttempt(
            claim=claim,
            end_to_end_id=_end_to_end_id(number, claim),
            creditor_name=claim.operator.legal_name[:140],
            iban=iban,
            bic=bic,
            amount_excl_vat=claim.amount,
            vat=claim.vat or Decimal("0.00"),
            amount_to_pay=claim.amount_to_pay,
            offset=offset,
            transfer_amount=remaining,
        )
        lines.append(line)
        offsets[line.end_to_end_id] = taken
    return lines, offsets


def _pain001(lines: Sequence[PaymentAttempt], *, number: int, execution_date: date) -> tuple[bytes, str]:
    """The SEPA credit-transfer file (pain.001.001.03, validated against its schema) and its MsgId."""
    transfer = SepaTransfer(
        {
            "name": settings.SEPA_DEBTOR_NAME,
            "IBAN": settings.SEPA_DEBTOR_IBAN.replace(" ", "").upper(),
            "BIC": settings.SEPA_DEBTOR_BIC.replace(" ", "").upper(),
            "batch": True,
            "currency": "EUR",
        },
        clean=True,
    )
    for line in lines:
        transfer.add_payment(
            {
                "name": line.creditor_name[:70],
                "IBAN": line.iban,
                "BIC": line.bic,
                "amount": int((line.transfer_amount * 100).to_integral_value()),
                "execution_date": execution_date,
                "description": f"Financement Segur MSSante {line.claim.get_kind_display()} {line.claim.pk} "
                f"lot {number}",
                "endtoend_id": line.end_to_end_id,
            }
        )
    return sepa.validate(transfer.export(validate=False), transfer.schema), transfer.msg_id


def payment_batch_create(
    *,
    actor: User,
    claims: QuerySet[Claim] | Iterable[int] | None = None,
    execution_date: date | None = None,
    at: datetime | None = None,
) -> BatchOutcome:
    """Order the payment of `claims` (a queryset or ids; None: every payable claim) in one new batch.

    Only a `valideur`. Claims that cannot be paid now are left out with the reason (not approved,
    already in a live batch, approved by `actor`, balance before its advance is paid, above the
    funded total, operator blocked or without validated bank details). Nothing is written when none
    is left, or when the actor may not order payment. Returns BatchOutcome(batch, left_out).
    """
    at = at or timezone.now()
    if not is_agent(actor, Role.VALIDATOR):
        raise NotAllowed("Seul un valideur peut créer un lot de paiement.")
    today = paris_today(at=at)
    execution_date = execution_date or today + timedelta(days=1)
    if execution_date < today:
        message = "La date d'exécution ne peut pas être passée."
        raise InvalidInput(message, errors={"execution_date": [message]})
    if claims is None:
        claims = selectors.payable_claims()
    ids = list(claims.values_list("pk", flat=True)) if hasattr(claims, "values_list") else list(claims)
    with transaction.atomic():
        operator_ids = sorted(set(Claim.objects.filter(pk__in=ids).values_list("operator_id", flat=True)))
        list(Operator.objects.select_for_update().filter(pk__in=operator_ids).order_by("pk"))
        locked = list(
            Claim.objects.select_for_update(of=("self",))
            .select_related("operator", "campaign")
            .filter(pk__in=ids)
            .order_by("operator_id", "pk")
        )
        included: list[Claim] = []
        left_out: list[str] = []
        blockers: dict[int, list[str]] = {}
        for claim in locked:
            reasons = _why_not_payable(claim, actor=actor, at=at, blockers=blockers)
            if reasons:
                left_out.append(f"Demande n° {claim.pk} ({claim.operator.legal_name}) écartée : " + " ".join(reasons))
            else:
                included.append(claim)
        if not included:
            raise GuardFailed(
                "Aucune demande de la sélection ne peut être mise en paiement.", errors={"left_out": left_out}
            )
        number = (PaymentBatch.objects.aggregate(last=Max("number"))["last"] or 0) + 1
        lines, offsets = _lines_with_offsets(included, number=number)
        content, message_id = _pain001(lines, number=number, execution_date=execution_date)
        batch = PaymentBatch(
            number=number,
            message_id=message_id,
            execution_date=execution_date,
            file_name=f"virements-segur-lot-{number:06d}.xml",
            sha256=hashlib.sha256(content).hexdigest(),
            total=sum((line.transfer_amount for line in lines), Decimal("0")),
            created_by=actor,
            created_at=at,
        )
        batch.file.save(batch.file_name, ContentFile(content), save=False)
        try:
            with transaction.atomic():
                _write_batch(batch, lines, offsets, actor=actor, at=at)
        except IntegrityError:
            batch.file.storage.delete(batch.file.name)
            raise StateConflict("Un autre lot vient d'être créé avec ces demandes ; rechargez la page.") from None
        except Exception:
            batch.file.storage.delete(batch.file.name)
            raise
    return BatchOutcome(batch=batch, left_out=left_out)


def _write_batch(
    batch: PaymentBatch,
    lines: Sequence[PaymentAttempt],
    offsets: dict[str, list[Recovery]],
    *,
    actor: User,
    at: datetime,
) -> None:
    batch.save()
    append_event(
        parent=batch,
        event_model=PaymentBatchEvent,
        actor=actor,
        action="generate",
        from_state=BatchState.GENERATED,
        to_state=BatchState.GENERATED,
        comment=(
            f"Lot généré : {len(lines)} virement(s), {euros(batch.total)}, message {batch.message_id}, "
            f"SHA-256 {batch.sha256}."
        ),
        at=at,
    )
    for line in lines:
        line.batch = batch
        line.save()
        taken = offsets[line.end_to_end_id]
        line.offset_recoveries.set(taken)
        text = (
            f"Ordre de paiement émis (lot {batch.number}) : {euros(line.transfer_amount)} sur le compte "
            f"{masked_iban(line.iban)} (BIC {line.bic}), référence {line.end_to_end_id}"
        )
        if taken:
            cases = ", ".join(f"n° {r.pk}" for r in taken)
            text += f", après compensation de {euros(line.offset)} (indu {cases}) sur {euros(line.amount_to_pay)}"
        append_claim_event(
            claim=line.claim,
            actor=actor,
            action="payment_order",
            comment=text + ".",
            at=at,
        )


# --- Confirming and returning a line -----------------------------------------------------------------


def record_settled_payment(
    *, claim: Claim, paid_on: date, reference: str, recorded_by: User | None, at: datetime
) -> tuple[Payment, PaymentAttempt | None]:
    """Write the claim's settled payment; its live line (if any) is closed as paid and the recoveries
    it offsets are settled against it. The caller holds the claim's lock and fires the transition to
    paid in the same transaction."""
    attempt = (
        PaymentAttempt.objects.select_for_update()
        .filter(claim=claim, state=AttemptState.ORDERED)
        .select_related("batch")
        .first()
    )
    assert claim.amount is not None and claim.amount_to_pay is not None  # the guard amount_payable
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                claim=claim,
                attempt=attempt,
                amount=claim.amount_to_pay,
                amount_excl_vat=claim.amount,
                vat=claim.vat or Decimal("0.00"),
                paid_on=paid_on,
                reference=reference,
                recorded_by=recorded_by,
            )
    except IntegrityError:
        raise StateConflict("Cette demande a déjà un paiement.") from None
    if attempt is not None:
        PaymentAttempt.objects.filter(pk=attempt.pk).update(state=AttemptState.PAID, resolved_at=at)
        for recovery in attempt.offset_recoveries.order_by("pk"):
            recoveries.recovery_offset_settle(recovery=recovery, payment=payment, actor=recorded_by, at=at)
    return payment, attempt


def _return_line(
    *, attempt: PaymentAttempt, code: str, outcome_text: str, actor: User | None, at: datetime, importer: str
) -> None:
    """Close an ordered or paid line as returned; the claim is payable again (and, when the transfer had
    been booked, goes back from paid to approved, its payment kept and marked returned)."""
    reason = bank_returns.reason_label(code)
    text = (
        f"{outcome_text} (lot {attempt.batch.number}, référence {attempt.end_to_end_id}) : {reason}. "
        f"{FIX_BANK_DETAILS} Retour importé par {importer}."
    )
    if attempt.state == AttemptState.ORDERED:
        claim = lock_claim(attempt.claim)
        PaymentAttempt.objects.filter(pk=attempt.pk, state=AttemptState.ORDERED).update(
            state=AttemptState.RETURNED, resolved_at=at, return_code=code[:4], return_reason=reason[:200]
        )
        append_claim_event(
            claim=claim,
            actor=None,
            action="payment_returned",
            comment=text,
            at=at,
        )
        return
    # Paid, then returned: a logged transition paid → approved.

    def reverse_payment(locked: Claim) -> dict[str, Any]:
        payment = Payment.objects.select_for_update().get(attempt=attempt)
        Payment.objects.filter(pk=payment.pk).update(returned_at=at, return_reason=reason[:200])
        PaymentAttempt.objects.filter(pk=attempt.pk).update(
            state=AttemptState.RETURNED, resolved_at=at, return_code=code[:4], return_reason=reason[:200]
        )
        for recovery in payment.offset_recoveries.order_by("pk"):
            recoveries.recovery_offset_reverse(recovery=recovery, actor=actor, at=at, reason=text)
        return {}

    TRANSITIONS.fire(attempt.claim, "return_payment", actor=None, comment=text, at=at, prepare=reverse_payment)


# --- Importing the bank's return file ------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did, line by line, in French."""

    kind: str = ""
    message_id: str = ""
    paid: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    already_imported: BankReturn | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            name: getattr(self, name)
            for name in ("kind", "message_id", "paid", "returned", "unchanged", "pending", "unmatched", "errors")
        }

    @property
    def changed(self) -> bool:
        return bool(self.paid or self.returned)

    def summary(self) -> str:
        if self.already_imported is not None:
            when = timezone.localtime(self.already_imported.imported_at)
            return (
                f"Ce fichier a déjà été importé le {when:%d/%m/%Y à %H:%M} "
                f"(par {actor_label(self.already_imported.imported_by)}) : rien n'a changé."
            )
        return (
            f"Retour {self.kind} {self.message_id} : {len(self.paid)} paiement(s) confirmé(s), "
            f"{len(self.returned)} virement(s) retourné(s), {len(self.unchanged)} déjà à jour, "
            f"{len(self.pending)} en attente, {len(self.unmatched)} ligne(s) non rapprochée(s), "
            f"{len(self.errors)} anomalie(s)."
        )


def _expand(parsed: bank_returns.ReturnFile, report: ImportReport) -> list[bank_returns.ReturnLine]:
    """A whole message rejected becomes one rejected line per transfer of that batch."""
    lines: list[bank_returns.ReturnLine] = []
    for line in parsed.lines:
        if line.end_to_end_id or not line.original_message_id:
            lines.append(line)
            continue
        batch = PaymentBatch.objects.filter(message_id=line.original_message_id).first()
        if batch is None:
            report.unmatched.append(
                f"{line.position} : aucun lot n'a l'identifiant de message {line.original_message_id}."
            )
            continue
        lines += [replace(line, end_to_end_id=a.end_to_end_id) for a in batch.lines.order_by("pk")]
    return lines


def bank_return_import(
    *, content: bytes, file_name: str | None, actor: User | None = None, at: datetime | None = None
) -> ImportReport:
    """Apply a pain.002.001.03 or camt.054.001.02 file, matched on the EndToEndId of batch lines.

    `actor` is the validator who uploads it (None: the management command). Every line is applied on
    its own (one anomaly never blocks the others); the same file (SHA-256) is applied once: a second
    import changes nothing and says when the first one was made. Returns an ImportReport.
    """
    at = at or timezone.now()
    if actor is not None and not is_agent(actor, Role.VALIDATOR):
        raise NotAllowed("Seul un valideur peut importer un retour bancaire.")
    sha256 = hashlib.sha256(content).hexdigest()
    earlier = BankReturn.objects.filter(sha256=sha256).select_related("imported_by").first()
    if earlier is not None:
        return ImportReport(kind=earlier.kind, message_id=earlier.message_id, already_imported=earlier)
    parsed = bank_returns.parse(content)
    report = ImportReport(kind=parsed.kind, message_id=parsed.message_id)
    importer = actor_label(actor)
    source = f"{parsed.kind} {parsed.message_id}".strip()
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = BankReturn.objects.create(
                    sha256=sha256,
                    kind=parsed.kind,
                    message_id=parsed.message_id[:35],
                    file_name=(file_name or "retour.xml")[:120],
                    imported_by=actor,
                    imported_at=at,
                )
        except IntegrityError:
            raise StateConflict("Ce fichier est en cours d'import par ailleurs.") from None
        lines = _expand(parsed, report)
        attempts = {
            a.end_to_end_id: a
            for a in PaymentAttempt.objects.select_related("batch", "claim").filter(
                end_to_end_id__in=[line.end_to_end_id for line in lines if line.end_to_end_id]
            )
        }
        touched: set[int] = set()
        for line in lines:
            attempt = attempts.get(line.end_to_end_id)
            if attempt is None:
                what = f"référence {line.end_to_end_id}" if line.end_to_end_id else "sans référence EndToEndId"
                report.unmatched.append(
                    f"{line.position} ({what}, {line.status}) : aucune ligne de lot correspondante."
                )
                continue
            try:
                with transaction.atomic():
                    if _apply(line, attempt, report=report, actor=actor, at=at, importer=importer, source=source):
                        touched.add(attempt.batch_id)
            except DomainError as error:
                report.errors.append(f"{line.end_to_end_id} : {error.message}")
        for batch_id in sorted(touched):
            batch_refresh(batch_id=batch_id, at=at, comment=f"Retour bancaire {source} importé par {importer}.")
        record.report = report.as_dict()
        record.save(update_fields=["report"])
    logger.info("bank return %s imported: %s", source, report.summary())
    return report


def _apply(
    line: bank_returns.ReturnLine,
    attempt: PaymentAttempt,
    *,
    report: ImportReport,
    actor: User | None,
    at: datetime,
    importer: str,
    source: str,
) -> bool:
    """Apply one line of a return file to its batch line; True when something changed."""
    attempt = PaymentAttempt.objects.select_related("batch", "claim").get(pk=attempt.pk)
    ref = attempt.end_to_end_id
    if line.outcome == bank_returns.PENDING:
        report.pending.append(f"{ref} : en attente à la banque ({line.status}).")
        return False
    if attempt.state == AttemptState.CANCELLED:
        report.errors.append(f"{ref} : la ligne appartient au lot n° {attempt.batch.number}, annulé ; non appliqué.")
        return False
    if line.outcome == bank_returns.ACCEPTED:
        if attempt.state == AttemptState.PAID:
            report.unchanged.append(f"{ref} : paiement déjà confirmé.")
            return False
        if attempt.state == AttemptState.RETURNED:
            report.errors.append(f"{ref} : virement déjà retourné ({attempt.return_reason}) ; acceptation ignorée.")
            return False
        if line.amount is not None and line.amount != attempt.transfer_amount:
            report.errors.append(
                f"{ref} : montant {euros(line.amount)} au lieu de {euros(attempt.transfer_amount)} ordonnés ; "
                "non appliqué."
            )
            return False
        booked_on = line.booked_on or paris_today(at=at)
        if booked_on > paris_today(at=at):
            report.errors.append(f"{ref} : date de comptabilisation future ({paris_date(booked_on)}) ; non appliqué.")
            return False

        def pay(locked: Claim) -> dict[str, Any]:
            record_settled_payment(claim=locked, paid_on=booked_on, reference=ref, recorded_by=actor, at=at)
            return {}

        TRANSITIONS.fire(
            attempt.claim,
            "confirm_payment",
            actor=None,
            at=at,
            prepare=pay,
            comment=(
                f"Paiement confirmé par la banque (lot {attempt.batch.number}, référence {ref}) : "
                f"{euros(attempt.amount_to_pay)} versés le {paris_date(booked_on)}"
                + (f", dont {euros(attempt.offset)} compensés sur des indus" if attempt.offset else "")
                + f". Retour {source} importé par {importer}."
            ),
        )
        report.paid.append(f"{ref} : demande n° {attempt.claim_id} payée le {paris_date(booked_on)}.")
        return True
    if attempt.state == AttemptState.RETURNED:
        report.unchanged.append(f"{ref} : retour déjà enregistré.")
        return False
    booked = attempt.state == AttemptState.PAID
    _return_line(
        attempt=attempt,
        code=line.reason_code,
        outcome_text="Virement retourné par la banque après comptabilisation"
        if booked
        else "Virement rejeté par la banque",
        actor=actor,
        at=at,
        importer=importer,
    )
    report.returned.append(
        f"{ref} : demande n° {attempt.claim_id} de nouveau payable ({bank_returns.reason_label(line.reason_code)})."
    )
    return True
