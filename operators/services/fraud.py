"""Fraud signals (issue 12): an IBAN declared by several parties, a proof file (same SHA-256) reused
across parties or across proof kinds.

A party is an operator, or an enrolment not validated yet and whose SIREN is no operator's. The
detection reads every place an IBAN or a proof lives — operators (validated details), open
enrolments and pending bank-details requests; enrolment proofs, bank-details proofs and claim
proofs (read through the app registry: claims depends on operators, never the reverse) — and
raises at most one flag per party, kind and key. It runs when details or proofs are stored
(enrolment, bank-details request, claim proof) and from `manage.py detect_fraud_signals`; it is
idempotent, and a flag an agent cleared is never raised again for the same party and key.
"""

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from stdnum import iban as iban_check

from common.exceptions import InvalidInput, NotAllowed, StateConflict
from common.roles import is_any_agent
from operators.enums import (
    OPEN_ENROLMENT_STATES,
    BankDetailsChangeState,
    EnrolmentDocumentKind,
    EnrolmentState,
    FraudFlagKind,
)
from operators.models import BankDetailsChange, BankDetailsProof, Enrolment, EnrolmentDocument, FraudFlag, Operator
from operators.services.messages import CLEAR_REASON_REQUIRED, FLAG_ALREADY_CLEARED

logger = logging.getLogger("operators.services")

# Proof kinds that are the same document wherever they are filed: the same RIB, the same signed contract.
RIB = "rib"
CONTRACT_V2 = "contract_v2"
CONFORMITY_REPORT = "conformity_report"


@dataclass(frozen=True)
class Party:
    """Who a flag is raised on: an operator, or an enrolment not validated yet (`operator_id` None)."""

    operator_id: int | None
    enrolment_id: int | None
    siren: str
    label: str

    @property
    def identity(self) -> tuple[str, int | None]:
        return ("operator", self.operator_id) if self.operator_id else ("enrolment", self.enrolment_id)


@dataclass(frozen=True)
class Seen:
    """One place an IBAN or a file was found. `owner` is counted as the party, `party` is flagged
    (they differ for a buyer's copy of its provider's conformity report, which is the provider's)."""

    party: Party
    owner: tuple[str, int | None]  # a Party.identity
    kind: str
    where: str


def _operator_party(operator: Operator) -> Party:
    return Party(operator.pk, None, operator.siren, f"{operator.legal_name} (SIREN {operator.siren})")


class _Parties:
    """Resolves an enrolment to its party: its operator once validated, or the operator with its
    SIREN (a new enrolment of a known entity), else the enrolment itself."""

    def __init__(self) -> None:
        self._by_siren: dict[str, Operator | None] = {}

    def of_enrolment(self, enrolment: Enrolment) -> Party:
        if enrolment.operator is not None:
            return _operator_party(enrolment.operator)
        if enrolment.siren not in self._by_siren:
            self._by_siren[enrolment.siren] = Operator.objects.filter(siren=enrolment.siren).first()
        operator = self._by_siren[enrolment.siren]
        if operator is not None:
            return _operator_party(operator)
        label = f"demande d'enrôlement n° {enrolment.pk} ({enrolment.legal_name}, SIREN {enrolment.siren})"
        return Party(None, enrolment.pk, enrolment.siren, label)


def _compact(iban: str | None) -> str:
    return iban_check.compact(iban or "")


def _iban_sightings(ibans: Collection[str] | None, parties: _Parties) -> dict[str, list[Seen]]:
    """{IBAN: [Seen]} for the IBANs in `ibans` (every IBAN when None)."""
    seen: defaultdict[str, list[Seen]] = defaultdict(list)
    if ibans is not None and not ibans:
        return seen  # a proof stored: no IBAN to look for, no query

    def keep(value: str) -> bool:
        return bool(value) and (ibans is None or value in ibans)

    operators = Operator.objects.exclude(iban="")
    changes = BankDetailsChange.objects.filter(state=BankDetailsChangeState.PENDING).select_related("operator")
    enrolments = Enrolment.objects.filter(state__in=OPEN_ENROLMENT_STATES).select_related("operator")
    if ibans is not None:
        operators = operators.filter(iban__in=ibans)
        changes = changes.filter(iban__in=ibans)
        enrolments = enrolments.filter(iban__in=ibans)
    for operator in operators:
        party = _operator_party(operator)
        if keep(_compact(operator.iban)):
            seen[_compact(operator.iban)].append(
                Seen(party, party.identity, "", f"{party.label}, coordonnées validées")
            )
    for change in changes:
        party = _operator_party(change.operator)
        if keep(_compact(change.iban)):
            where = f"{party.label}, changement de coordonnées n° {change.pk} en attente"
            seen[_compact(change.iban)].append(Seen(party, party.identity, "", where))
    for enrolment in enrolments:
        party = parties.of_enrolment(enrolment)
        if keep(_compact(enrolment.iban)):
            where = f"{party.label}, demande d'enrôlement n° {enrolment.pk}"
            seen[_compact(enrolment.iban)].append(Seen(party, party.identity, "", where))
    return seen


def _enrolment_kind(kind: str) -> str:
    if kind == EnrolmentDocumentKind.BANK_DETAILS:
        return RIB
    if kind == EnrolmentDocumentKind.CONTRACT_V2:
        return CONTRACT_V2
    return f"enrolment:{kind}"


def _file_sightings(sha256s: Collection[str] | None, parties: _Parties) -> dict[str, list[Seen]]:
    """{SHA-256: [Seen]} for the hashes in `sha256s` (every stored proof when None)."""
    # Untyped on purpose: claims.models may not be imported here, even for types (claims → operators).
    Document: Any = apps.get_model("claims", "Document")
    seen: defaultdict[str, list[Seen]] = defaultdict(list)
    if sha256s is not None and not sha256s:
        return seen  # bank details stored: no file to look for, no query
    enrolment_docs = EnrolmentDocument.objects.exclude(enrolment__state=EnrolmentState.REJECTED).select_related(
        "enrolment__operator"
    )
    bank_proofs = BankDetailsProof.objects.exclude(change__state=BankDetailsChangeState.REFUSED).select_related(
        "change__operator"
    )
    claim_docs = Document.objects.exclude(kind="decision_letter").select_related("operator")  # generated, not filed
    if sha256s is not None:
        enrolment_docs = enrolment_docs.filter(sha256__in=sha256s)
        bank_proofs = bank_proofs.filter(sha256__in=sha256s)
        claim_docs = claim_docs.filter(sha256__in=sha256s)
    for document in enrolment_docs:
        party = parties.of_enrolment(document.enrolment)
        where = f"{document.get_kind_display()} — {party.label}, demande d'enrôlement n° {document.enrolment_id}"
        seen[document.sha256].append(Seen(party, party.identity, _enrolment_kind(document.kind), where))
    for proof in bank_proofs:
        party = _operator_party(proof.change.operator)
        where = f"RIB — {party.label}, changement de coordonnées n° {proof.change_id}"
        seen[proof.sha256].append(Seen(party, party.identity, RIB, where))
    for document in claim_docs:
        party = _operator_party(document.operator)
        owner: tuple[str, int | None] = party.identity
        kind = f"claim:{document.kind}"
        if document.kind == "contract_v2":
            kind = CONTRACT_V2
        elif document.kind in ("conformity_report", "provider_conformity_report"):
            kind = CONFORMITY_REPORT
            if document.kind == "provider_conformity_report" and document.operator.provider_id:
                owner = ("operator", document.operator.provider_id)  # the provider's own report
        where = f"{document.get_kind_display()} — {party.label}, demande n° {document.claim_id}"
        seen[document.sha256].append(Seen(party, owner, kind, where))
    return seen


def _flag(*, party: Party, kind: str, key: str, detail: str, at: datetime) -> FraudFlag | None:
    """Raise the flag on `party` unless it exists (open or cleared); return it when new, else None.

    A flag raised on an enrolment is adopted by the operator it became, so it is never doubled.
    """
    existing = FraudFlag.objects.filter(kind=kind, key=key)
    if party.operator_id:
        existing = existing.filter(
            Q(operator_id=party.operator_id)
            | Q(operator__isnull=True, enrolment__operator_id=party.operator_id)
            | Q(operator__isnull=True, enrolment__siren=party.siren)
        )
    else:
        assert party.enrolment_id is not None  # a party is an operator or an enrolment
        existing = existing.filter(operator__isnull=True, enrolment_id=party.enrolment_id)
    flag = existing.order_by("pk").first()
    if flag is not None:
        updates: dict[str, object] = {}
        if flag.operator_id is None and party.operator_id:
            updates["operator_id"] = party.operator_id
        if flag.is_open and flag.detail != detail:
            updates["detail"] = detail
        if updates:
            try:
                with transaction.atomic():
                    FraudFlag.objects.filter(pk=flag.pk).update(**updates)
            except IntegrityError:
                pass  # the operator already holds its own flag for this key
        return None
    try:
        with transaction.atomic():
            flag = FraudFlag.objects.create(
                operator_id=party.operator_id,
                enrolment_id=party.enrolment_id,
                kind=kind,
                key=key,
                detail=detail,
                detected_at=at,
            )
    except IntegrityError:
        return None  # raised meanwhile by a concurrent detection
    logger.warning("fraud flag %s raised: %s on %s", flag.pk, kind, party.label)
    return flag


def _parties_to_flag(sightings: Iterable[Seen]) -> list[Party]:
    parties: dict[tuple[str, int | None], Party] = {}
    for seen in sightings:
        parties.setdefault(seen.party.identity, seen.party)
    return list(parties.values())


def _detect(*, ibans: Collection[str] | None, sha256s: Collection[str] | None, at: datetime | None) -> list[FraudFlag]:
    at = at or timezone.now()
    parties = _Parties()
    raised = []
    for iban, sightings in sorted(_iban_sightings(ibans, parties).items()):
        if len({seen.owner for seen in sightings}) < 2:
            continue
        wheres = "; ".join(sorted({seen.where for seen in sightings}))
        detail = f"IBAN {iban} déclaré par plusieurs opérateurs ou demandes : {wheres}."
        for party in _parties_to_flag(sightings):
            raised.append(_flag(party=party, kind=FraudFlagKind.SHARED_IBAN, key=iban, detail=detail, at=at))
    for sha256, sightings in sorted(_file_sightings(sha256s, parties).items()):
        if len({seen.owner for seen in sightings}) < 2 and len({seen.kind for seen in sightings}) < 2:
            continue
        wheres = "; ".join(sorted({seen.where for seen in sightings}))
        detail = f"Le même fichier (SHA-256 {sha256[:16]}…) a été déposé {len(sightings)} fois : {wheres}."
        for party in _parties_to_flag(sightings):
            raised.append(_flag(party=party, kind=FraudFlagKind.REUSED_FILE, key=sha256, detail=detail, at=at))
    return [flag for flag in raised if flag is not None]


def fraud_signals_detect(
    *, ibans: Iterable[str | None] = (), sha256s: Iterable[str | None] = (), at: datetime | None = None
) -> list[FraudFlag]:
    """Look for the signals touching these IBANs and file hashes only (called when they are stored).

    Returns the flags raised now; existing flags (open or cleared) are kept as they are, an open
    one getting the latest description.
    """
    wanted_ibans = {_compact(iban) for iban in ibans if iban}
    wanted_sha256s = {sha for sha in sha256s if sha}
    if not wanted_ibans and not wanted_sha256s:
        return []
    return _detect(ibans=wanted_ibans, sha256s=wanted_sha256s, at=at)


def fraud_signals_detect_all(*, at: datetime | None = None) -> list[FraudFlag]:
    """Look for every signal in the whole base (`manage.py detect_fraud_signals`); idempotent."""
    return _detect(ibans=None, sha256s=None, at=at)


def fraud_flag_clear(*, flag: FraudFlag, actor: User, reason: str, at: datetime | None = None) -> FraudFlag:
    """An agent (instructeur or valideur) clears a flag with a reason: the operator may be paid again
    (when no other flag is open). Who, when and why stay on the flag."""
    at = at or timezone.now()
    if not is_any_agent(actor):
        raise NotAllowed()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(CLEAR_REASON_REQUIRED, errors={"reason": [CLEAR_REASON_REQUIRED]})
    with transaction.atomic():
        locked = FraudFlag.objects.select_for_update().get(pk=flag.pk)
        if not locked.is_open:
            raise StateConflict(FLAG_ALREADY_CLEARED)
        locked.cleared_by = actor
        locked.cleared_at = at
        locked.clear_reason = reason
        locked.save(update_fields=["cleared_by", "cleared_at", "clear_reason"])
    logger.info("fraud flag %s cleared by %s: %s", locked.pk, actor.pk, reason)
    return locked
