"""Enrolment (docs/spec/SPEC.md §4a): a representative declares an operator, agents instruct it."""

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from common import scanning
from common.audit import ChainedEvent, append_event
from common.enums import ScanStatus
from common.exceptions import DomainError, InvalidInput, NotAllowed, StateConflict
from common.roles import AnyUser, Role, is_agent, operator_id_of
from common.uploads import inspect_upload
from common.workflow import Transition, Workflow
from operators import company, notifications
from operators.enums import (
    BASE_ENROLMENT_PROOFS,
    OPEN_ENROLMENT_STATES,
    OPTIONAL_ENROLMENT_PROOFS,
    CompanyCheck,
    EnrolmentDocumentKind,
    EnrolmentState,
    OperatorKind,
    ReferencingStatus,
)
from operators.models import (
    Enrolment,
    EnrolmentDocument,
    EnrolmentEvent,
    Membership,
    Operator,
    Referencing,
)
from operators.selectors import latest_enrolment_documents
from operators.services.contracts import contract_v2_signed_uploaded
from operators.services.fraud import fraud_signals_detect
from operators.services.messages import (
    AGENTS_CANNOT_ENROL,
    ALREADY_MEMBER,
    COMMENT_REQUIRED,
    OPEN_ENROLMENT_EXISTS,
    PROVIDER_NOT_LINKED,
    REFERENCING_TAKEN,
    REQUIRED,
    VAT_DECLARATION_REQUIRED,
)
from operators.validators import validate_bic, validate_iban, validate_siren, validate_siret

logger = logging.getLogger("operators.services")

Errors = dict[str, list[str]]  # field (or proof kind) -> French messages
# {proof kind: (file, inspect_upload's (content type, size, SHA-256, display name))}
Inspected = dict[str, tuple[UploadedFile, tuple[str, int, str, str]]]


def _missing_document(kind: str) -> str:
    return f"Pièce manquante : {EnrolmentDocumentKind(kind).label}."


def required_enrolment_proof_kinds(*, vat_liable: bool | None) -> list[str]:
    """The proofs an enrolment needs, following its VAT declaration: the one list the service, the
    portal, the API and the admin use. A liable entity proves it with its VAT certificate; one that
    is not (e.g. a public hospital) files a declaration of non-liability."""
    vat_proof = EnrolmentDocumentKind.VAT_CERTIFICATE if vat_liable else EnrolmentDocumentKind.VAT_NON_LIABILITY
    return [*BASE_ENROLMENT_PROOFS, vat_proof]


def _accepted_proof_kinds(*, vat_liable: bool | None) -> list[str]:
    return [*required_enrolment_proof_kinds(vat_liable=vat_liable), *OPTIONAL_ENROLMENT_PROOFS]


def _check_document_kinds(documents: Iterable[str], *, vat_liable: bool | None, errors: Errors) -> None:
    """Refuse unknown kinds and the VAT proof that contradicts the declaration."""
    accepted = _accepted_proof_kinds(vat_liable=vat_liable) if vat_liable is not None else None
    for kind in documents:
        if kind not in EnrolmentDocumentKind.values:
            errors[str(kind)] = ["Type de pièce inconnu."]
        elif accepted is not None and kind not in accepted:
            declared = "assujettie" if vat_liable else "non assujettie"
            errors[kind] = [f"Pièce sans objet : l'entité est déclarée {declared} à la TVA."]


def parse_vat_liable(value: object) -> bool | None:
    """The VAT declaration as True / False, or None when it was not made (or is unreadable)."""
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("true", "oui", "yes", "1"):
        return True
    if text in ("false", "non", "no", "0"):
        return False
    return None


class EnrolmentWorkflow(Workflow[Enrolment]):
    model = Enrolment
    event_model = EnrolmentEvent
    noun = "la demande d'enrôlement"
    stale_message = "La demande d'enrôlement vient d'être modifiée par ailleurs ; rechargez-la."
    comment_message = COMMENT_REQUIRED
    stamp_updated_at = True

    def lock(self, obj: Enrolment) -> Enrolment:
        return Enrolment.objects.select_for_update(of=("self",)).select_related("user").get(pk=obj.pk)

    def notify(self, event: ChainedEvent) -> None:
        notifications.schedule_enrolment_notification(event.pk)

    def reload(self, obj: Enrolment) -> Enrolment:
        return Enrolment.objects.select_related("user", "operator", "provider").get(pk=obj.pk)


def representative(user: AnyUser, enrolment: Enrolment) -> bool:
    """The enrolment's own representative (never an agent): the operator side of an enrolment."""
    return user is not None and user.is_authenticated and user.pk == enrolment.user_id and not user.is_staff


E = EnrolmentState


def proofs_scanned(enrolment: Enrolment, *, actor: AnyUser, at: datetime) -> list[str]:
    """Only clean proofs count: none may be in analysis or quarantined (common.scanning)."""
    latest = latest_enrolment_documents(enrolment=enrolment).values()
    problems: list[str] = scanning.guard_problems(latest, label=lambda d: d.get_kind_display())
    return problems


ENROLMENT_TRANSITIONS = EnrolmentWorkflow(
    Transition("request_changes", "Demander des compléments", (E.PENDING,), E.CHANGES_REQUESTED, Role.INSTRUCTOR,
               comment_required=True),
    Transition("resubmit", "Renvoyer la demande complétée", (E.CHANGES_REQUESTED,), E.PENDING, representative),
    Transition("validate", "Valider l'enrôlement", (E.PENDING,), E.VALIDATED, Role.INSTRUCTOR,
               guards=(proofs_scanned,)),
    Transition("reject", "Rejeter l'enrôlement", (E.PENDING, E.CHANGES_REQUESTED), E.REJECTED, Role.INSTRUCTOR,
               comment_required=True),
)  # fmt: skip

DECLARED_FIELDS = (
    "legal_name",
    "siren",
    "siret",
    "kind",
    "provider_siren",
    "provider_referencing_number",
    "referencing_number",
    "iban",
    "bic",
    "contact_email",
    "vat_liable",
)


def declared_values(enrolment: Enrolment) -> dict[str, Any]:
    """{field: value} of DECLARED_FIELDS as the enrolment holds them."""
    return {name: getattr(enrolment, name) for name in DECLARED_FIELDS}


def enrolment_abilities(*, user: AnyUser, enrolment: Enrolment) -> dict[str, bool]:
    """What `user` may do on `enrolment` now: {transition name: bool} (admin buttons, portal, API)."""
    return ENROLMENT_TRANSITIONS.abilities(user=user, obj=enrolment)


def _check_company(cleaned: Mapping[str, Any], *, errors: Errors, at: datetime) -> dict[str, Any]:
    """The declared SIREN/SIRET looked up in the company directory (operators.company): unknown or closed →
    French field errors; directory unreachable → accepted, flagged "non vérifié". Returns the fields to store."""
    if not company.enabled() or "siren" in errors or "siret" in errors:
        return {}
    try:
        found = company.company_lookup(siren=cleaned["siren"], siret=cleaned["siret"])
    except company.CompanyUnavailable:
        return {"company_check": CompanyCheck.UNVERIFIED, "company_name": "", "company_checked_at": at}
    if found is None:
        field = "siret" if cleaned["siret"] else "siren"
        errors[field] = [company.UNKNOWN_SIRET if cleaned["siret"] else company.UNKNOWN_SIREN]
        return {}
    for field, messages in found.problems().items():
        errors[field] = messages
    return {"company_check": CompanyCheck.VERIFIED, "company_name": found.legal_name[:255], "company_checked_at": at}


def company_recheck(*, enrolment: Enrolment, at: datetime | None = None) -> str | None:
    """The periodic retry of an enrolment filed while the directory was unreachable: records what it says now
    (verified, closed or unknown: the agent decides). Safe to run twice; a directory still down changes nothing.
    Returns the new CompanyCheck value, or None when nothing changed."""
    at = at or timezone.now()
    if enrolment.company_check != CompanyCheck.UNVERIFIED or not company.enabled():
        return None
    try:
        found = company.company_lookup(siren=enrolment.siren, siret=enrolment.siret)
    except company.CompanyUnavailable:
        return None
    if found is None:
        status, name = CompanyCheck.UNKNOWN, ""
    else:
        status = CompanyCheck.CLOSED if found.problems() else CompanyCheck.VERIFIED
        name = found.legal_name[:255]
    updated = Enrolment.objects.filter(pk=enrolment.pk, company_check=CompanyCheck.UNVERIFIED).update(
        company_check=status, company_name=name, company_checked_at=at
    )
    return status if updated == 1 else None


def _clean_declaration(data: Mapping[str, Any], *, errors: Errors) -> dict[str, Any]:
    """Normalise and check the declared fields; fill `errors` (field -> [French messages])."""
    cleaned: dict[str, Any] = {}
    legal_name = (data.get("legal_name") or "").strip()
    if not legal_name:
        errors["legal_name"] = [REQUIRED]
    elif len(legal_name) > 255:
        errors["legal_name"] = ["255 caractères au plus."]
    cleaned["legal_name"] = legal_name

    siren = "".join((data.get("siren") or "").split())
    try:
        validate_siren(siren)
    except ValidationError as error:
        errors["siren"] = list(error.messages)
    cleaned["siren"] = siren

    siret = "".join((data.get("siret") or "").split())
    if siret:
        try:
            validate_siret(siret)
            if not siret.startswith(siren):
                raise ValidationError("Le SIRET doit commencer par le SIREN de l'opérateur.")
        except ValidationError as error:
            errors["siret"] = list(error.messages)
    cleaned["siret"] = siret

    kind = data.get("kind") or ""
    provider_siren = "".join((data.get("provider_siren") or "").split())
    provider_number = (data.get("provider_referencing_number") or "").strip()
    if kind not in OperatorKind.values:
        errors["kind"] = ["Type d'opérateur inconnu : « developer » (développeur) ou « buyer » (acheteur)."]
    elif kind == OperatorKind.BUYER:
        # Declared as the representative knows it; the agent's link to an Operator comes at validation.
        if not provider_siren:
            errors["provider_siren"] = ["Un opérateur acheteur doit indiquer le SIREN de son opérateur prestataire."]
        else:
            try:
                validate_siren(provider_siren)
                if provider_siren == siren:
                    raise ValidationError("Un opérateur ne peut pas être son propre prestataire.")
            except ValidationError as error:
                errors["provider_siren"] = list(error.messages)
        if not provider_number:
            errors["provider_referencing_number"] = [
                "Un opérateur acheteur doit indiquer le numéro de référencement ANS de son opérateur prestataire."
            ]
        elif len(provider_number) > 64:
            errors["provider_referencing_number"] = ["64 caractères au plus."]
    else:
        if provider_siren:
            errors["provider_siren"] = ["Seul un opérateur acheteur indique un prestataire."]
        if provider_number:
            errors["provider_referencing_number"] = ["Seul un opérateur acheteur indique un prestataire."]
    cleaned["kind"] = kind
    cleaned["provider_siren"] = provider_siren
    cleaned["provider_referencing_number"] = provider_number

    vat_liable = parse_vat_liable(data.get("vat_liable"))
    if vat_liable is None:
        errors["vat_liable"] = [VAT_DECLARATION_REQUIRED]
    cleaned["vat_liable"] = vat_liable

    number = (data.get("referencing_number") or "").strip()
    if not number:
        errors["referencing_number"] = [REQUIRED]
    elif len(number) > 64:
        errors["referencing_number"] = ["64 caractères au plus."]
    elif Referencing.objects.filter(number=number).exclude(operator__siren=siren).exists():
        errors["referencing_number"] = [REFERENCING_TAKEN]
    cleaned["referencing_number"] = number

    iban = "".join((data.get("iban") or "").split()).upper()
    try:
        validate_iban(iban)
    except ValidationError as error:
        errors["iban"] = list(error.messages)
    cleaned["iban"] = iban

    bic = "".join((data.get("bic") or "").split()).upper()
    try:
        validate_bic(bic)
    except ValidationError as error:
        errors["bic"] = list(error.messages)
    cleaned["bic"] = bic

    email = (data.get("contact_email") or "").strip().lower()
    if email:
        try:
            EmailValidator()(email)
        except ValidationError:
            errors["contact_email"] = ["Adresse e-mail invalide."]
    cleaned["contact_email"] = email
    return cleaned


def _inspect_documents(documents: Mapping[str, UploadedFile | None]) -> Inspected:
    """Check every file by content and size before anything is stored: {kind: (file, inspection)}.

    A refused file raises its own error class (413, 415 or 400) naming the proof concerned.
    """
    inspected: Inspected = {}
    for kind, uploaded in documents.items():
        if uploaded is None:
            continue
        try:
            inspected[kind] = (uploaded, inspect_upload(uploaded))
        except DomainError as error:
            label = EnrolmentDocumentKind(kind).label
            raise type(error)(f"{label} : {error.message}", code=error.code, errors={kind: [error.message]}) from None
    return inspected


def _store_documents(
    *, enrolment: Enrolment, actor: User, inspected: Inspected, stored: list[tuple[Storage, str]]
) -> None:
    """Save each inspected file as a new version; `stored` collects (storage, name) for clean-up."""
    for kind, (uploaded, inspection) in inspected.items():
        version = (enrolment.documents.filter(kind=kind).aggregate(last=Max("version"))["last"] or 0) + 1
        document = scanning.store_file(
            EnrolmentDocument,
            content=uploaded,
            inspection=inspection,
            uploaded_by=actor,
            enrolment=enrolment,
            kind=kind,
            version=version,
        )
        stored.append((document.file.storage, document.file.name))


def _detect_fraud(*, iban: str, inspected: Inspected, at: datetime) -> None:
    """Fraud signals on the declared IBAN and the files just stored (shared IBAN, reused file)."""
    sha256s = [sha256 for _uploaded, (_type, _size, sha256, _name) in inspected.values()]
    fraud_signals_detect(ibans=[iban], sha256s=sha256s, at=at)


def append_enrolment_event(
    *,
    enrolment: Enrolment,
    actor: User | None,
    action: str,
    from_state: str,
    to_state: str,
    comment: str = "",
    at: datetime,
) -> EnrolmentEvent:
    """Append one hash-chained event and notify after commit; the caller holds the lock on `enrolment`."""
    event = append_event(
        parent=enrolment,
        event_model=EnrolmentEvent,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        at=at,
    )
    transaction.on_commit(lambda: notifications.schedule_enrolment_notification(event.pk))
    return event


def _check_representative(user: AnyUser) -> None:
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotAllowed()
    if user.is_staff or user.is_superuser:
        raise NotAllowed(AGENTS_CANNOT_ENROL)
    if operator_id_of(user) is not None:
        raise StateConflict(ALREADY_MEMBER, code="already_member")


def enrolment_submit(
    *,
    user: User,
    documents: Mapping[str, UploadedFile | None] | None,
    at: datetime | None = None,
    **declared: Any,
) -> Enrolment:
    """A representative files an enrolment: declared fields + the four proofs → `pending`.

    `declared`: legal_name, siren, siret (optional), kind ("developer" / "buyer"), provider_siren and
    provider_referencing_number (required for buyers, refused for developers), referencing_number,
    iban, bic, contact_email (optional), vat_liable (True / False, or "true" / "false", required).
    `documents`: {EnrolmentDocumentKind value: UploadedFile}: every kind of
    `required_enrolment_proof_kinds(vat_liable=…)`, and optionally the signed contract v2.

    Before: `user` is an active, non-staff account with no active membership and no open
    enrolment. After: one Enrolment, its documents (version 1) and a "submit" event —
    or, on any error (bad SIREN, IBAN, BIC, missing or refused proof…), nothing at all.
    Raises NotAllowed, StateConflict, InvalidInput (field errors), FileTooLarge, UnsupportedFileType.
    """
    at = at or timezone.now()
    unknown = set(declared) - set(DECLARED_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {sorted(unknown)}")
    _check_representative(user)
    if Enrolment.objects.filter(user=user, state__in=OPEN_ENROLMENT_STATES).exists():
        raise StateConflict(OPEN_ENROLMENT_EXISTS, code="open_enrolment")
    errors: Errors = {}
    cleaned = _clean_declaration(declared, errors=errors)
    cleaned.update(_check_company(cleaned, errors=errors, at=at))
    documents = {kind: file for kind, file in (documents or {}).items() if file is not None}
    vat_liable = cleaned["vat_liable"]
    _check_document_kinds(documents, vat_liable=vat_liable, errors=errors)
    required = (
        required_enrolment_proof_kinds(vat_liable=vat_liable) if vat_liable is not None else BASE_ENROLMENT_PROOFS
    )
    for kind in required:
        if kind not in documents:
            errors[kind] = [_missing_document(kind)]
    if errors:
        raise InvalidInput("La demande d'enrôlement est incomplète ou invalide.", errors=errors)
    inspected = _inspect_documents(documents)

    stored: list[tuple[Storage, str]] = []
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(user=user, submitted_at=at, **cleaned)
            _store_documents(enrolment=enrolment, actor=user, inspected=inspected, stored=stored)
            append_enrolment_event(
                enrolment=enrolment,
                actor=user,
                action="submit",
                from_state="",
                to_state=EnrolmentState.PENDING,
                comment="Demande d'enrôlement déposée.",
                at=at,
            )
            _detect_fraud(iban=enrolment.iban, inspected=inspected, at=at)
    except IntegrityError:
        scanning.remove_files(stored, after="a rolled-back enrolment")
        raise StateConflict(OPEN_ENROLMENT_EXISTS, code="open_enrolment") from None
    except Exception:
        scanning.remove_files(stored, after="a rolled-back enrolment")
        raise
    return enrolment


def _lock_enrolment(enrolment: Enrolment) -> Enrolment:
    return Enrolment.objects.select_for_update(of=("self",)).select_related("user").get(pk=enrolment.pk)


def _enrolment_transition(
    *,
    enrolment: Enrolment,
    name: str,
    actor: User,
    comment: str = "",
    at: datetime,
    fields: Mapping[str, Any] | None = None,
    before_write: Callable[[Enrolment], Mapping[str, Any]] | None = None,
) -> Enrolment:
    """Fire `name` through the table; `before_write(locked)` may write more and return fields."""

    def prepare(locked: Enrolment) -> dict[str, Any]:
        return {**(fields or {}), **(before_write(locked) if before_write else {})}

    return ENROLMENT_TRANSITIONS.fire(enrolment, name, actor=actor, comment=comment, at=at, prepare=prepare)


def enrolment_resubmit(
    *,
    enrolment: Enrolment,
    actor: User,
    documents: Mapping[str, UploadedFile | None] | None = None,
    comment: str = "",
    at: datetime | None = None,
    **changes: Any,
) -> Enrolment:
    """The representative answers a change request: corrected fields and/or new proof versions → `pending`.

    `changes` takes the same names as `enrolment_submit` (only those given change); `documents`
    adds new versions ({kind: UploadedFile}). Everything is checked before anything is written.
    """
    at = at or timezone.now()
    unknown = set(changes) - set(DECLARED_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {sorted(unknown)}")
    documents = {kind: file for kind, file in (documents or {}).items() if file is not None}
    if not ENROLMENT_TRANSITIONS.may(actor, ENROLMENT_TRANSITIONS["resubmit"], enrolment):
        raise NotAllowed()
    current = declared_values(enrolment)
    if "kind" in changes and changes["kind"] == OperatorKind.DEVELOPER:
        for name in ("provider_siren", "provider_referencing_number"):
            changes.setdefault(name, "")
    errors: Errors = {}
    cleaned = _clean_declaration({**current, **{k: v for k, v in changes.items() if v is not None}}, errors=errors)
    cleaned.update(_check_company(cleaned, errors=errors, at=at))
    vat_liable = cleaned["vat_liable"]
    _check_document_kinds(documents, vat_liable=vat_liable, errors=errors)
    if vat_liable is not None:
        # A changed VAT declaration needs its own proof, already stored or uploaded now.
        stored_kinds = set(enrolment.documents.values_list("kind", flat=True))
        for kind in required_enrolment_proof_kinds(vat_liable=vat_liable):
            if kind not in documents and kind not in stored_kinds:
                errors[kind] = [_missing_document(kind)]
    # A quarantined proof counts for nothing: a new version is needed (common.scanning).
    for kind, document in latest_enrolment_documents(enrolment=enrolment).items():
        if kind not in documents and document.scan_status == ScanStatus.INFECTED:
            errors[kind] = scanning.guard_problems([document], label=lambda d: d.get_kind_display())
    declared_provider = (cleaned["provider_siren"], cleaned["provider_referencing_number"])
    if declared_provider != (enrolment.provider_siren, enrolment.provider_referencing_number):
        cleaned["provider"] = None  # the agent's link followed the former declaration
    if errors:
        raise InvalidInput("La demande d'enrôlement est incomplète ou invalide.", errors=errors)
    inspected = _inspect_documents(documents)

    stored: list[tuple[Storage, str]] = []

    def write(locked: Enrolment) -> dict[str, Any]:
        _store_documents(enrolment=locked, actor=actor, inspected=inspected, stored=stored)
        return {**cleaned, "submitted_at": at, "agent_message": ""}

    def detect(updated: Enrolment) -> Enrolment:
        _detect_fraud(iban=updated.iban, inspected=inspected, at=at)
        return updated

    try:
        with transaction.atomic():
            return detect(
                _enrolment_transition(
                    enrolment=enrolment, name="resubmit", actor=actor, comment=comment, at=at, before_write=write
                )
            )
    except Exception:
        scanning.remove_files(stored, after="a rolled-back enrolment")
        raise


def enrolment_request_changes(
    *, enrolment: Enrolment, actor: User, message: str, at: datetime | None = None
) -> Enrolment:
    """An instructor asks the representative for corrections (message required) → `changes_requested`."""
    at = at or timezone.now()
    with transaction.atomic():
        return _enrolment_transition(
            enrolment=enrolment,
            name="request_changes",
            actor=actor,
            comment=message,
            at=at,
            fields={"agent_message": (message or "").strip()},
        )


def enrolment_reject(*, enrolment: Enrolment, actor: User, reason: str, at: datetime | None = None) -> Enrolment:
    """An instructor refuses the enrolment (reason required) → `rejected`; no operator is touched."""
    at = at or timezone.now()
    with transaction.atomic():
        return _enrolment_transition(
            enrolment=enrolment,
            name="reject",
            actor=actor,
            comment=reason,
            at=at,
            fields={"decision_reason": (reason or "").strip(), "decided_by": actor, "decided_at": at},
        )


def _apply_to_operator(locked: Enrolment, *, at: datetime) -> dict[str, Any]:
    """Create or update the Operator, its valid Referencing and the user's active Membership."""
    user = locked.user
    if not user.is_active or user.is_staff or user.is_superuser:
        raise StateConflict("Le compte du représentant est inactif ou est un compte d'agent.")
    membership = Membership.objects.select_related("operator").filter(user=user).first()
    if membership and membership.is_active and membership.operator.siren != locked.siren:
        raise StateConflict(f"Le représentant est déjà rattaché à {membership.operator.legal_name}.")

    provider = _provider_for(locked, day=timezone.localdate(at)) if locked.kind == OperatorKind.BUYER else None
    operator = Operator.objects.select_for_update().filter(siren=locked.siren).first() or Operator(siren=locked.siren)
    operator.legal_name = locked.legal_name
    operator.kind = locked.kind
    operator.provider = provider
    operator.siret = locked.siret or operator.siret
    operator.iban = locked.iban
    operator.bic = locked.bic
    operator.contact_email = locked.contact_email or operator.contact_email or user.email
    operator.vat_liable = locked.vat_liable
    try:
        operator.full_clean()
    except ValidationError as error:
        raise InvalidInput(
            "Les données déclarées ne permettent pas d'enregistrer l'opérateur.", errors=error.message_dict
        ) from None
    operator.save()

    existing = Referencing.objects.select_for_update().filter(number=locked.referencing_number).first()
    if existing is not None and existing.operator_id != operator.pk:
        raise InvalidInput(REFERENCING_TAKEN, errors={"referencing_number": [REFERENCING_TAKEN]})
    if existing is None:
        other = operator.referencings.filter(status=ReferencingStatus.VALID).first()
        if other is not None:
            message = (
                f"L'opérateur a déjà le référencement valide n° {other.number} : "
                "suspendez-le ou retirez-le dans l'administration avant de valider un nouveau numéro."
            )
            raise InvalidInput(message, errors={"referencing_number": [message]})
        Referencing.objects.create(
            operator=operator,
            number=locked.referencing_number,
            status=ReferencingStatus.VALID,
            granted_on=timezone.localdate(at),
        )
    Membership.objects.update_or_create(user=user, defaults={"operator": operator, "is_active": True})
    contract = latest_enrolment_documents(enrolment=locked).get(EnrolmentDocumentKind.CONTRACT_V2)
    if contract is not None:
        contract_v2_signed_uploaded(
            operator=operator,
            actor=user,
            at=contract.uploaded_at,
            document_label=f"Enrôlement n° {locked.pk} — {contract}",
            document_sha256=contract.sha256,
        )
    return {"operator": operator, "provider": provider}


def declared_provider_of(enrolment: Enrolment, *, day: date) -> Operator | None:
    """The developer operator with the declared SIREN holding the declared number, valid on `day`, or None."""
    if not (enrolment.provider_siren and enrolment.provider_referencing_number):
        return None
    return Operator.objects.filter(
        siren=enrolment.provider_siren,
        kind=OperatorKind.DEVELOPER,
        referencings__number=enrolment.provider_referencing_number,
        referencings__status=ReferencingStatus.VALID,
        referencings__granted_on__lte=day,
    ).first()


def _provider_for(locked: Enrolment, *, day: date) -> Operator:
    """The buyer's provider at validation: the agent's link, else the declared one found; else refused."""
    provider = locked.provider or declared_provider_of(locked, day=day)
    if provider is None:
        message = PROVIDER_NOT_LINKED.format(
            siren=locked.provider_siren or "—", number=locked.provider_referencing_number or "—"
        )
        raise InvalidInput(message, code="provider_not_linked", errors={"provider": [message]})
    if provider.kind != OperatorKind.DEVELOPER or provider.siren == locked.siren:
        message = "L'opérateur prestataire rattaché doit être un autre opérateur, développeur."
        raise InvalidInput(message, code="provider_not_linked", errors={"provider": [message]})
    return provider


def enrolment_link_provider(*, enrolment: Enrolment, actor: User, provider: Operator | None) -> Enrolment:
    """An instructor links (or unlinks, `provider=None`) a buyer enrolment's provider before validating.

    Before: the enrolment is open and declares a buyer; `provider` is another developer operator.
    The representative's declaration (SIREN, number) is kept as filed.
    """
    if not is_agent(actor, Role.INSTRUCTOR):
        raise NotAllowed()
    with transaction.atomic():
        locked = _lock_enrolment(enrolment)
        if locked.state not in OPEN_ENROLMENT_STATES:
            raise StateConflict("Le prestataire ne se rattache qu'à une demande d'enrôlement en cours d'instruction.")
        if locked.kind != OperatorKind.BUYER and provider is not None:
            message = "Seul un opérateur acheteur a un prestataire."
            raise InvalidInput(message, errors={"provider": [message]})
        if provider is not None and (provider.kind != OperatorKind.DEVELOPER or provider.siren == locked.siren):
            message = "L'opérateur prestataire rattaché doit être un autre opérateur, développeur."
            raise InvalidInput(message, errors={"provider": [message]})
        Enrolment.objects.filter(pk=locked.pk).update(provider=provider)
    logger.info("enrolment %s: provider linked to %s by %s", locked.pk, provider and provider.pk, actor.pk)
    return Enrolment.objects.select_related("user", "operator", "provider").get(pk=locked.pk)


def enrolment_validate(
    *, enrolment: Enrolment, actor: User, comment: str = "", at: datetime | None = None
) -> Enrolment:
    """An instructor validates: in one transaction, create or update the Operator (by SIREN) with the
    declared data, its valid Referencing, and the representative's Membership (active) → `validated`.

    Only this service (and an accepted invitation to an already validated operator) activates
    a membership. Refused, with nothing written, when the referencing number belongs to another
    operator, the operator already has another valid number, or the user is an agent or
    already a member elsewhere.
    """
    at = at or timezone.now()

    def write(locked: Enrolment) -> dict[str, Any]:
        fields = _apply_to_operator(locked, at=at)
        fields.update(decided_by=actor, decided_at=at, decision_reason=(comment or "").strip())
        return fields

    with transaction.atomic():
        return _enrolment_transition(
            enrolment=enrolment, name="validate", actor=actor, comment=comment, at=at, before_write=write
        )
