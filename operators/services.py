"""Every write of the operators app: accounts, enrolment (SPEC §4a), invitations, webhooks.

Each service checks who acts, validates everything before writing, writes in one
transaction (so nothing is ever half-created) and schedules side effects with
`transaction.on_commit`. Errors are the `common.exceptions` family, French messages.

Enrolment states (one table below, like claims' workflow):

    pending ──request_changes (instructeur)──▶ changes_requested ──resubmit (représentant)──▶ pending
    pending ──validate (instructeur)──▶ validated    (creates/updates Operator, Referencing, Membership)
    pending / changes_requested ──reject (instructeur)──▶ rejected
"""

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from common.audit import append_event
from common.exceptions import DomainError, InvalidInput, NotAllowed, StateConflict
from common.roles import Role, is_agent, operator_id_of
from common.uploads import inspect_upload
from operators import notifications, webhooks
from operators.enums import (
    OPEN_ENROLMENT_STATES,
    EnrolmentDocumentKind,
    EnrolmentState,
    OperatorKind,
    ReferencingStatus,
    WebhookDeliveryStatus,
)
from operators.models import (
    Enrolment,
    EnrolmentDocument,
    EnrolmentEvent,
    Invitation,
    Membership,
    Operator,
    Referencing,
    Webhook,
    WebhookDelivery,
)
from operators.validators import validate_bic, validate_iban, validate_siren, validate_siret

logger = logging.getLogger(__name__)

REQUIRED = "Ce champ est obligatoire."
COMMENT_REQUIRED = "Un commentaire motivé est obligatoire pour cette action."
ALREADY_MEMBER = "Votre compte est déjà rattaché à un opérateur."
OPEN_ENROLMENT_EXISTS = "Vous avez déjà une demande d'enrôlement en cours."
AGENTS_CANNOT_ENROL = "Un compte d'agent ne peut pas représenter un opérateur."
INVALID_INVITATION = "Cette invitation est invalide, expirée ou déjà utilisée."
REFERENCING_TAKEN = "Ce numéro de référencement est attribué à un autre opérateur."


def _missing_document(kind):
    return f"Pièce manquante : {EnrolmentDocumentKind(kind).label}."


# --- Accounts ---------------------------------------------------------------------------------


def account_create(*, username, email, password, first_name="", last_name=""):
    """Create an active portal account with no operator (it enrols, or accepts an invitation).

    Refuses (InvalidInput, field errors) a taken username or e-mail (case-insensitive),
    an invalid e-mail and a password that fails the project's password validators.
    """
    User = get_user_model()
    username = (username or "").strip()
    email = (email or "").strip().lower()
    errors = {}
    if not username:
        errors["username"] = [REQUIRED]
    elif len(username) > 150 or not all(ch.isalnum() or ch in "@.+-_" for ch in username):
        errors["username"] = ["Identifiant invalide : lettres, chiffres et @ . + - _ uniquement (150 au plus)."]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["Cet identifiant est déjà utilisé."]
    try:
        EmailValidator()(email)
    except ValidationError:
        errors["email"] = ["Adresse e-mail invalide."]
    else:
        if User.objects.filter(email__iexact=email).exists():
            errors["email"] = ["Un compte existe déjà avec cette adresse e-mail."]
    candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password or "", user=candidate)
    except ValidationError as error:
        errors["password"] = list(error.messages)
    if errors:
        raise InvalidInput(errors=errors)
    try:
        with transaction.atomic():
            return User.objects.create_user(
                username=username, email=email, password=password, first_name=first_name, last_name=last_name
            )
    except IntegrityError:
        raise InvalidInput(errors={"username": ["Cet identifiant est déjà utilisé."]}) from None


# --- Enrolment ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentTransition:
    label: str
    sources: tuple
    target: str
    role: str  # Role.OPERATOR here means "the enrolment's own representative"
    comment_required: bool = False


E = EnrolmentState
ENROLMENT_TRANSITIONS = {
    "request_changes": EnrolmentTransition("Demander des compléments", (E.PENDING,), E.CHANGES_REQUESTED,
                                           Role.INSTRUCTOR, comment_required=True),
    "resubmit": EnrolmentTransition("Renvoyer la demande complétée", (E.CHANGES_REQUESTED,), E.PENDING, Role.OPERATOR),
    "validate": EnrolmentTransition("Valider l'enrôlement", (E.PENDING,), E.VALIDATED, Role.INSTRUCTOR),
    "reject": EnrolmentTransition("Rejeter l'enrôlement", (E.PENDING, E.CHANGES_REQUESTED), E.REJECTED,
                                  Role.INSTRUCTOR, comment_required=True),
}  # fmt: skip

DECLARED_FIELDS = (
    "legal_name",
    "siren",
    "siret",
    "kind",
    "provider_siren",
    "referencing_number",
    "iban",
    "bic",
    "contact_email",
)


def _may(user, transition, enrolment):
    if transition.role == Role.OPERATOR:
        return user is not None and user.is_authenticated and user.pk == enrolment.user_id and not user.is_staff
    return is_agent(user, transition.role)


def enrolment_abilities(*, user, enrolment):
    """What `user` may do on `enrolment` now: {transition name: bool} (admin buttons, portal, API)."""
    return {
        name: enrolment.state in transition.sources and _may(user, transition, enrolment)
        for name, transition in ENROLMENT_TRANSITIONS.items()
    }


def _clean_declaration(data, *, errors):
    """Normalise and check the declared fields; fill `errors` (field -> [French messages])."""
    cleaned = {}
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
    provider = None
    provider_siren = "".join((data.get("provider_siren") or "").split())
    if kind not in OperatorKind.values:
        errors["kind"] = ["Type d'opérateur inconnu : « developer » (développeur) ou « buyer » (acheteur)."]
    elif kind == OperatorKind.BUYER:
        provider = Operator.objects.filter(siren=provider_siren, kind=OperatorKind.DEVELOPER).first()
        if not provider_siren:
            errors["provider_siren"] = ["Un opérateur acheteur doit indiquer le SIREN de son opérateur prestataire."]
        elif provider is None:
            errors["provider_siren"] = ["Aucun opérateur développeur référencé ne porte ce SIREN."]
        elif provider.siren == siren:
            errors["provider_siren"] = ["Un opérateur ne peut pas être son propre prestataire."]
    elif provider_siren:
        errors["provider_siren"] = ["Seul un opérateur acheteur indique un prestataire."]
    cleaned["kind"] = kind
    cleaned["provider"] = provider

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


def _inspect_documents(documents):
    """Check every file by content and size before anything is stored: {kind: (file, inspection)}.

    A refused file raises its own error class (413, 415 or 400) naming the proof concerned.
    """
    inspected = {}
    for kind, uploaded in documents.items():
        if uploaded is None:
            continue
        try:
            inspected[kind] = (uploaded, inspect_upload(uploaded))
        except DomainError as error:
            label = EnrolmentDocumentKind(kind).label
            raise type(error)(f"{label} : {error.message}", code=error.code, errors={kind: [error.message]}) from None
    return inspected


def _store_documents(*, enrolment, actor, inspected, stored):
    """Save each inspected file as a new version; `stored` collects (storage, name) for clean-up."""
    for kind, (uploaded, (content_type, size, sha256, display_name)) in inspected.items():
        version = (enrolment.documents.filter(kind=kind).aggregate(last=Max("version"))["last"] or 0) + 1
        document = EnrolmentDocument(
            enrolment=enrolment,
            kind=kind,
            version=version,
            original_name=display_name,
            content_type=content_type,
            size=size,
            sha256=sha256,
            uploaded_by=actor,
        )
        document.file.save(display_name, uploaded, save=False)
        stored.append((document.file.storage, document.file.name))
        document.save()


def _delete_stored(stored):
    for storage, name in stored:
        try:
            storage.delete(name)
        except OSError:
            logger.exception("could not remove %s after a rolled-back enrolment", name)


def _append_enrolment_event(*, enrolment, actor, action, from_state, to_state, comment="", at):
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


def _check_representative(user):
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotAllowed()
    if user.is_staff or user.is_superuser:
        raise NotAllowed(AGENTS_CANNOT_ENROL)
    if operator_id_of(user) is not None:
        raise StateConflict(ALREADY_MEMBER, code="already_member")


def enrolment_submit(*, user, documents, at=None, **declared):
    """A representative files an enrolment: declared fields + the four proofs → `pending`.

    `declared`: legal_name, siren, siret (optional), kind ("developer" / "buyer"),
    provider_siren (buyers only), referencing_number, iban, bic, contact_email (optional).
    `documents`: {EnrolmentDocumentKind value: UploadedFile}, all four kinds required.

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
    errors = {}
    cleaned = _clean_declaration(declared, errors=errors)
    documents = {kind: file for kind, file in (documents or {}).items() if file is not None}
    for kind in documents:
        if kind not in EnrolmentDocumentKind.values:
            errors[str(kind)] = ["Type de pièce inconnu."]
    for kind in EnrolmentDocumentKind.values:
        if kind not in documents:
            errors[kind] = [_missing_document(kind)]
    if errors:
        raise InvalidInput("La demande d'enrôlement est incomplète ou invalide.", errors=errors)
    inspected = _inspect_documents(documents)

    stored = []
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(user=user, submitted_at=at, **cleaned)
            _store_documents(enrolment=enrolment, actor=user, inspected=inspected, stored=stored)
            _append_enrolment_event(
                enrolment=enrolment,
                actor=user,
                action="submit",
                from_state="",
                to_state=EnrolmentState.PENDING,
                comment="Demande d'enrôlement déposée.",
                at=at,
            )
    except IntegrityError:
        _delete_stored(stored)
        raise StateConflict(OPEN_ENROLMENT_EXISTS, code="open_enrolment") from None
    except Exception:
        _delete_stored(stored)
        raise
    return enrolment


def _lock_enrolment(enrolment):
    return Enrolment.objects.select_for_update(of=("self",)).select_related("user").get(pk=enrolment.pk)


def _enrolment_transition(*, enrolment, name, actor, comment="", at, fields=None, before_write=None):
    """Fire `name` on the locked enrolment; `before_write(locked)` may write more and return fields."""
    transition = ENROLMENT_TRANSITIONS[name]
    comment = (comment or "").strip()
    locked = _lock_enrolment(enrolment)
    if not _may(actor, transition, locked):
        raise NotAllowed()
    if locked.state not in transition.sources:
        raise StateConflict(
            f"Action « {transition.label} » impossible : la demande d'enrôlement est « {locked.get_state_display()} »."
        )
    if transition.comment_required and not comment:
        raise InvalidInput(COMMENT_REQUIRED, code="comment_required", errors={"comment": [COMMENT_REQUIRED]})
    fields = dict(fields or {})
    if before_write:
        fields.update(before_write(locked))
    fields.update(state=transition.target, updated_at=at)
    if Enrolment.objects.filter(pk=locked.pk, state=locked.state).update(**fields) != 1:
        raise StateConflict("La demande d'enrôlement vient d'être modifiée par ailleurs ; rechargez-la.")
    _append_enrolment_event(
        enrolment=locked, actor=actor, action=name, from_state=locked.state, to_state=transition.target,
        comment=comment, at=at,
    )  # fmt: skip
    return Enrolment.objects.select_related("user", "operator", "provider").get(pk=locked.pk)


def enrolment_resubmit(*, enrolment, actor, documents=None, comment="", at=None, **changes):
    """The representative answers a change request: corrected fields and/or new proof versions → `pending`.

    `changes` takes the same names as `enrolment_submit` (only those given change); `documents`
    adds new versions ({kind: UploadedFile}). Everything is checked before anything is written.
    """
    at = at or timezone.now()
    unknown = set(changes) - set(DECLARED_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {sorted(unknown)}")
    documents = {kind: file for kind, file in (documents or {}).items() if file is not None}
    transition = ENROLMENT_TRANSITIONS["resubmit"]
    if not _may(actor, transition, enrolment):
        raise NotAllowed()
    current = {
        "legal_name": enrolment.legal_name,
        "siren": enrolment.siren,
        "siret": enrolment.siret,
        "kind": enrolment.kind,
        "provider_siren": enrolment.provider.siren if enrolment.provider_id else "",
        "referencing_number": enrolment.referencing_number,
        "iban": enrolment.iban,
        "bic": enrolment.bic,
        "contact_email": enrolment.contact_email,
    }
    if "kind" in changes and changes["kind"] == OperatorKind.DEVELOPER and "provider_siren" not in changes:
        current["provider_siren"] = ""
    errors = {}
    cleaned = _clean_declaration({**current, **{k: v for k, v in changes.items() if v is not None}}, errors=errors)
    for kind in documents:
        if kind not in EnrolmentDocumentKind.values:
            errors[str(kind)] = ["Type de pièce inconnu."]
    if errors:
        raise InvalidInput("La demande d'enrôlement est incomplète ou invalide.", errors=errors)
    inspected = _inspect_documents(documents)

    stored = []

    def write(locked):
        _store_documents(enrolment=locked, actor=actor, inspected=inspected, stored=stored)
        return {**cleaned, "submitted_at": at, "agent_message": ""}

    try:
        with transaction.atomic():
            return _enrolment_transition(
                enrolment=enrolment, name="resubmit", actor=actor, comment=comment, at=at, before_write=write
            )
    except Exception:
        _delete_stored(stored)
        raise


def enrolment_request_changes(*, enrolment, actor, message, at=None):
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


def enrolment_reject(*, enrolment, actor, reason, at=None):
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


def _apply_to_operator(locked, *, at):
    """Create or update the Operator, its valid Referencing and the user's active Membership."""
    user = locked.user
    if not user.is_active or user.is_staff or user.is_superuser:
        raise StateConflict("Le compte du représentant est inactif ou est un compte d'agent.")
    membership = Membership.objects.select_related("operator").filter(user=user).first()
    if membership and membership.is_active and membership.operator.siren != locked.siren:
        raise StateConflict(f"Le représentant est déjà rattaché à {membership.operator.legal_name}.")

    operator = Operator.objects.select_for_update().filter(siren=locked.siren).first() or Operator(siren=locked.siren)
    operator.legal_name = locked.legal_name
    operator.kind = locked.kind
    operator.provider = locked.provider if locked.kind == OperatorKind.BUYER else None
    operator.siret = locked.siret or operator.siret
    operator.iban = locked.iban
    operator.bic = locked.bic
    operator.contact_email = locked.contact_email or operator.contact_email or user.email
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
    return {"operator": operator}


def enrolment_validate(*, enrolment, actor, comment="", at=None):
    """An instructor validates: in one transaction, create or update the Operator (by SIREN) with the
    declared data, its valid Referencing, and the representative's Membership (active) → `validated`.

    Only this service (and an accepted invitation to an already validated operator) activates
    a membership. Refused, with nothing written, when the referencing number belongs to another
    operator, the operator already has another valid number, or the user is an agent or
    already a member elsewhere.
    """
    at = at or timezone.now()

    def write(locked):
        fields = _apply_to_operator(locked, at=at)
        fields.update(decided_by=actor, decided_at=at, decision_reason=(comment or "").strip())
        return fields

    with transaction.atomic():
        return _enrolment_transition(
            enrolment=enrolment, name="validate", actor=actor, comment=comment, at=at, before_write=write
        )


# --- Invitations ---------------------------------------------------------------------------------


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def operator_can_invite(*, user, operator):
    """The operator's manager: an active member whose own enrolment for it was validated."""
    if user is None or not user.is_authenticated or user.is_staff or operator_id_of(user) != operator.pk:
        return False
    return Enrolment.objects.filter(user=user, operator=operator, state=EnrolmentState.VALIDATED).exists()


def invitation_create(*, operator, email, actor, at=None):
    """The manager invites a colleague by e-mail; the link (a one-time token, 7 days) is e-mailed after commit.

    A new invitation to the same address replaces a pending one. The token is never stored
    nor returned: only its SHA-256.
    """
    at = at or timezone.now()
    if not operator_can_invite(user=actor, operator=operator):
        raise NotAllowed("Seul le représentant dont l'enrôlement a été validé peut inviter des collègues.")
    email = (email or "").strip().lower()
    try:
        EmailValidator()(email)
    except ValidationError:
        raise InvalidInput(errors={"email": ["Adresse e-mail invalide."]}) from None
    if get_user_model().objects.filter(email__iexact=email).exists():
        message = "Un compte existe déjà avec cette adresse e-mail."
        raise StateConflict(message, code="account_exists", errors={"email": [message]})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        Invitation.objects.filter(
            operator=operator, email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=at)
        invitation = Invitation.objects.create(
            operator=operator,
            email=email,
            token_hash=_token_hash(token),
            invited_by=actor,
            expires_at=at + timedelta(days=settings.INVITATION_VALID_DAYS),
        )
        transaction.on_commit(lambda: notifications.schedule_invitation_email(invitation.pk, token))
    return invitation


def invitation_revoke(*, invitation, actor, at=None):
    at = at or timezone.now()
    if not operator_can_invite(user=actor, operator=invitation.operator):
        raise NotAllowed()
    with transaction.atomic():
        updated = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=at
        )
        if updated != 1:
            raise StateConflict("Cette invitation a déjà été acceptée ou révoquée.")
    return Invitation.objects.get(pk=invitation.pk)


def invitation_accept(*, token, username, password, first_name="", last_name="", at=None):
    """Whoever holds a valid token creates their account, an active member of the inviting operator."""
    at = at or timezone.now()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("operator")
            .filter(token_hash=_token_hash(token or ""))
            .first()
        )
        if invitation is None or invitation.status_at(at) != "pending":
            raise InvalidInput(INVALID_INVITATION, code="invalid_invitation", errors={"token": [INVALID_INVITATION]})
        user = account_create(
            username=username, email=invitation.email, password=password, first_name=first_name, last_name=last_name
        )
        Membership.objects.create(user=user, operator=invitation.operator, is_active=True)
        invitation.accepted_at = at
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return user


# --- Webhooks --------------------------------------------------------------------------------------

ATTEMPT_DELIVERED, ATTEMPT_RETRY, ATTEMPT_SKIPPED = "delivered", "retry", "skipped"


def _require_member(actor, operator_id):
    if actor is None or getattr(actor, "is_staff", False) or operator_id_of(actor) != operator_id:
        raise NotAllowed()


def validate_webhook_url(url):
    """https only, no credentials, no local or private host (the receiver must be on the Internet)."""
    url = (url or "").strip()
    message = None
    try:
        URLValidator(schemes=["https"])(url)
    except ValidationError:
        message = "Une adresse https valide est attendue (https://…)."
    if message is None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if len(url) > 500:
            message = "500 caractères au plus."
        elif parts.username or parts.password:
            message = "L'adresse ne doit pas contenir d'identifiants."
        elif not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
            if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
                message = "Une adresse joignable sur Internet est attendue."
            else:
                try:
                    if not webhooks.is_public_address(host.strip("[]")):
                        message = "Une adresse joignable sur Internet est attendue."
                except ValueError:
                    pass  # a host name: resolved and checked again at each delivery
    if message:
        raise InvalidInput(message, errors={"url": [message]})
    return url


def _new_secret():
    return "whsec_" + secrets.token_hex(24)


def webhook_create(*, operator, url, actor):
    """Register an https receiver for the operator; returns (webhook, secret) — the secret is shown once."""
    _require_member(actor, operator.pk)
    url = validate_webhook_url(url)
    if Webhook.objects.filter(operator=operator).count() >= settings.WEBHOOKS_PER_OPERATOR:
        raise StateConflict(f"{settings.WEBHOOKS_PER_OPERATOR} webhooks au plus par opérateur.")
    secret = _new_secret()
    webhook = Webhook.objects.create(operator=operator, url=url, secret=secret, created_by=actor)
    return webhook, secret


def webhook_update(*, webhook, actor, url=None, is_active=None):
    """Change the address and/or (re)activate a hook; reactivation clears its failure count."""
    _require_member(actor, webhook.operator_id)
    fields = {}
    if url is not None:
        fields["url"] = validate_webhook_url(url)
    if is_active is not None:
        fields["is_active"] = bool(is_active)
        if is_active:
            fields.update(consecutive_failures=0, disabled_at=None, disabled_reason="")
    if fields:
        Webhook.objects.filter(pk=webhook.pk).update(**fields)
    return Webhook.objects.get(pk=webhook.pk)


def webhook_rotate_secret(*, webhook, actor, at=None):
    """Replace the signing secret at once; returns (webhook, new secret) — shown once."""
    _require_member(actor, webhook.operator_id)
    secret = _new_secret()
    Webhook.objects.filter(pk=webhook.pk).update(secret=secret, secret_rotated_at=at or timezone.now())
    return Webhook.objects.get(pk=webhook.pk), secret


def webhook_delete(*, webhook, actor):
    _require_member(actor, webhook.operator_id)
    webhook.delete()


def webhook_deliveries_enqueue(*, operator_id, event_key, event_type, payload, occurred_at=None):
    """Create one delivery per active hook of `operator_id` (never another operator's) and queue them.

    Idempotent: a hook gets at most one delivery per `event_key`; only new ones are queued.
    Hooks registered after `occurred_at` are not sent older events. Returns the new delivery ids.
    """
    hooks = Webhook.objects.filter(operator_id=operator_id, is_active=True)
    if occurred_at is not None:
        hooks = hooks.filter(created_at__lte=occurred_at)
    created = []
    with transaction.atomic():
        for hook in hooks:
            delivery, is_new = WebhookDelivery.objects.get_or_create(
                webhook=hook, event_key=event_key, defaults={"event_type": event_type, "payload": payload}
            )
            if is_new:
                created.append(delivery.pk)
        for delivery_id in created:
            transaction.on_commit(lambda d=str(delivery_id): schedule_webhook_delivery(d))
    return created


def schedule_webhook_delivery(delivery_id):
    from operators.tasks import deliver_webhook

    notifications._enqueue(deliver_webhook, str(delivery_id))


def webhook_request(delivery, *, at):
    """(body, headers) of one attempt: the stored payload, signed with the hook's current secret."""
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(at.timestamp()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        webhooks.TIMESTAMP_HEADER: timestamp,
        webhooks.SIGNATURE_HEADER: webhooks.sign(delivery.webhook.secret, timestamp, body),
        webhooks.DELIVERY_HEADER: str(delivery.pk),
        webhooks.EVENT_HEADER: delivery.event_type,
    }
    return body, headers


def webhook_attempt(*, delivery_id, at=None):
    """Try one delivery once and log the outcome. Returns (outcome, attempts made so far), the outcome
    being "delivered", "retry" or "skipped".

    A 2xx answer delivers; anything else (other status, timeout, refused address) asks for a
    retry. Safe to run twice: a delivery no longer pending is skipped.
    """
    at = at or timezone.now()
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDeliveryStatus.PENDING:
        return ATTEMPT_SKIPPED, getattr(delivery, "attempts", 0)
    if not delivery.webhook.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDeliveryStatus.PENDING).update(
            status=WebhookDeliveryStatus.FAILED, last_error="Webhook désactivé : livraison abandonnée."
        )
        return ATTEMPT_SKIPPED, delivery.attempts
    body, headers = webhook_request(delivery, at=at)
    status, error = None, ""
    try:
        status = webhooks.post(delivery.webhook.url, body, headers)
        if not 200 <= status < 300:
            error = f"Réponse HTTP {status}."
    except webhooks.DeliveryError as failure:
        error = str(failure) or "Erreur réseau."
    ok = not error
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
        if locked is None or locked.status != WebhookDeliveryStatus.PENDING:
            return ATTEMPT_SKIPPED, getattr(locked, "attempts", 0)
        locked.attempts += 1
        locked.last_attempt_at = at
        locked.response_status = status
        locked.last_error = error[:500]
        if ok:
            locked.status = WebhookDeliveryStatus.DELIVERED
            locked.delivered_at = at
            Webhook.objects.filter(pk=locked.webhook_id).update(consecutive_failures=0)
        locked.save()
    return (ATTEMPT_DELIVERED if ok else ATTEMPT_RETRY), locked.attempts


def webhook_give_up(*, delivery_id, at=None):
    """Mark a delivery failed after its last attempt; WEBHOOK_DISABLE_AFTER failed deliveries in a row
    disable the hook and e-mail the operator (after commit). Returns True when the hook was disabled."""
    at = at or timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status != WebhookDeliveryStatus.PENDING:
            return False
        delivery.status = WebhookDeliveryStatus.FAILED
        delivery.save(update_fields=["status"])
        hook = Webhook.objects.select_for_update().get(pk=delivery.webhook_id)
        hook.consecutive_failures += 1
        disabled = hook.is_active and hook.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER
        if disabled:
            hook.is_active = False
            hook.disabled_at = at
            hook.disabled_reason = f"{hook.consecutive_failures} livraisons consécutives en échec"
            transaction.on_commit(lambda: notifications.schedule_webhook_disabled_email(hook.pk))
        hook.save(update_fields=["consecutive_failures", "is_active", "disabled_at", "disabled_reason"])
    return disabled


def webhook_stalled_delivery_ids(*, now=None, unsent_after=timedelta(minutes=5), stalled_after=timedelta(hours=6)):
    """Pending deliveries whose task was lost: never tried after 5 minutes, or silent for 6 hours
    (longer than the whole retry schedule), on hooks still active."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING, webhook__is_active=True)
        .filter(
            Q(attempts=0, created_at__lte=now - unsent_after)
            | Q(attempts__gt=0, last_attempt_at__lte=now - stalled_after)
        )
        .values_list("pk", flat=True)[:500]
    )
