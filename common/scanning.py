"""The antivirus pass on uploaded proofs (claims.Document, operators.EnrolmentDocument,
operators.BankDetailsProof — every common.models.StoredFile).

A proof is stored `pending` (`initial_scan_fields`); after commit a task (common.tasks.scan_stored_file)
sends it to clamd (common.antivirus) and `scan_stored_file` records the verdict:

- clean: `clean`, now counted by the filing guards and served by downloads;
- infected: the file moves under `quarantine/` in the storage, the row becomes `infected` with the
  signature clamd named; the owning app's handler (`INFECTED_HANDLERS`) writes it in the history and
  tells the operator, and the agents get an alert e-mail. It stays in the admin, never served;
- clamd unreachable: the row stays `pending` (`scan_detail` says why); the task retries with backoff,
  then `rescan_pending` (every 10 minutes) queues it again.

With no CLAMD_ADDRESS (the embedded default) scanning is off: proofs are stored `not_scanned`
(usable, the detail says why) and the admin shows that scanning is off. Documents the platform
generates itself (letters, receipts) are never scanned.
"""

import logging
import posixpath
from collections.abc import Iterable
from datetime import timedelta

from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.core.files.storage import Storage
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from common import antivirus
from common.enums import ScanStatus
from common.exceptions import StateConflict
from common.formatting import paris_datetime
from common.queueing import EMAIL_RETRY, enqueue

logger = logging.getLogger(__name__)

SCANNING_OFF = "Antivirus désactivé (CLAMD_ADDRESS non configuré) : pièce acceptée sans analyse."
GENERATED = "Document produit par la plateforme : pas d'analyse."
QUARANTINE_DIR = "quarantine"

# Each scanned model, and the module of its app that knows what an infected file means there:
# `on_infected(document, *, at)` (history, operator notice; inside the transaction that marks it) and
# `describe(document) -> (text, admin path)` for the agents' alert.
INFECTED_HANDLERS = {
    "claims.document": "claims.scanning",
    "operators.enrolmentdocument": "operators.scanning",
    "operators.bankdetailsproof": "operators.scanning",
}

# The messages the filing guards and downloads give; the API code tells a client it may retry later.
SCAN_PENDING_CODE = "document_scan_pending"
INFECTED_CODE = "document_infected"
PENDING_GUARD = "Pièce en cours d'analyse antivirus : {label} ({name}). Réessayez dans quelques instants."
INFECTED_GUARD = (
    "Pièce infectée, mise en quarantaine : {label} ({name}, virus « {signature} »). Déposez une nouvelle version."
)
PENDING_DOWNLOAD = "Cette pièce est en cours d'analyse antivirus : elle sera téléchargeable dès l'analyse terminée."
INFECTED_DOWNLOAD = (
    "Cette pièce est infectée (virus « {signature} ») : elle est en quarantaine et ne peut pas être téléchargée."
)


class DocumentUnavailable(StateConflict):
    """A download of a proof that is not usable: being scanned (retry later) or quarantined."""

    code = SCAN_PENDING_CODE
    default_message = PENDING_DOWNLOAD


def initial_scan_fields(*, generated=False):
    """The scan fields of a file about to be stored (uploaded, or `generated` by the platform)."""
    if generated:
        return {"scan_status": ScanStatus.NOT_SCANNED, "scan_detail": GENERATED}
    if not antivirus.enabled():
        return {"scan_status": ScanStatus.NOT_SCANNED, "scan_detail": SCANNING_OFF}
    return {"scan_status": ScanStatus.PENDING, "scan_detail": ""}


def schedule_scan(document):
    """After commit, queue the scan of a pending file; a broker outage leaves it to `rescan_pending`.
    Call it inside the transaction that stores `document`."""
    if document.scan_status == ScanStatus.PENDING:
        label, pk = document._meta.label_lower, document.pk
        transaction.on_commit(lambda: enqueue_scan(label, pk))


def store_file(model, *, content, inspection, uploaded_by, generated=False, **fields):
    """Write `content` under a fresh file name and save a `model` row (a StoredFile) describing it,
    its scan queued after commit (`pending` until clean). Call it inside the transaction that stores it.
    `inspection` is (content type, size, SHA-256, display name), as common.uploads.inspect_upload gives it.

    If the row cannot be saved, the file is removed, so a stored file never outlives a failed row; a
    caller whose transaction goes on must remove `document.file` itself if that transaction fails.
    """
    content_type, size, sha256, name = inspection
    document = model(
        original_name=name,
        content_type=content_type,
        size=size,
        sha256=sha256,
        uploaded_by=uploaded_by,
        **initial_scan_fields(generated=generated),
        **fields,
    )
    document.file.save(name, content, save=False)
    try:
        document.save()
        schedule_scan(document)  # after commit; "en cours d'analyse" until clean
    except Exception:
        document.file.storage.delete(document.file.name)
        raise
    return document


def remove_files(stored: Iterable[tuple[Storage, str]], *, after: str) -> None:
    """Remove the files that a rolled-back transaction had written, `stored` as (storage, name); a file
    that cannot be removed is logged ("could not remove … after `after`"), never raised."""
    for storage, name in stored:
        try:
            storage.delete(name)
        except OSError:
            logger.exception("could not remove %s after %s", name, after)


def enqueue_scan(model_label, pk):
    enqueue(scan_stored_file, model_label, pk, then="the periodic sweep will")


# --- What the guards and the downloads say -------------------------------------------------------


def guard_problems(documents, *, label):
    """French reasons why `documents` (the latest version of each proof) cannot be filed yet:
    one per proof being scanned or infected. `label(document)` names its kind."""
    problems = []
    for document in documents:
        if document.scan_status == ScanStatus.PENDING:
            problems.append(PENDING_GUARD.format(label=label(document), name=document.original_name))
        elif document.scan_status == ScanStatus.INFECTED:
            problems.append(
                INFECTED_GUARD.format(
                    label=label(document), name=document.original_name, signature=document.scan_signature
                )
            )
    return problems


def guard_error_code(problems):
    """The API code of a refused transition: `document_scan_pending` when every reason is a proof
    being scanned (the same request will succeed in a moment), else None (the error's own)."""
    prefix = PENDING_GUARD.split("{", 1)[0]
    if problems and all(problem.startswith(prefix) for problem in problems):
        return SCAN_PENDING_CODE
    return None


def check_downloadable(document):
    """Raise DocumentUnavailable (409) unless `document` may be served: never while it is being
    scanned, never once quarantined — to nobody, agents included."""
    if document.is_usable:
        return
    if document.scan_status == ScanStatus.INFECTED:
        raise DocumentUnavailable(INFECTED_DOWNLOAD.format(signature=document.scan_signature), code=INFECTED_CODE)
    raise DocumentUnavailable()


# --- The scan -------------------------------------------------------------------------------------


def scan_file(*, model_label, pk, at=None):
    """Scan one stored file if it is still pending; return its status afterwards (None if it is gone).

    Safe to run twice: every write is conditional on the row still being pending. Raises
    antivirus.ClamdUnavailable when clamd cannot give a verdict (the task retries); the row stays
    pending, with the reason in `scan_detail`.
    """
    model = apps.get_model(model_label)
    document = model.objects.filter(pk=pk).first()
    if document is None or document.scan_status != ScanStatus.PENDING:
        return document and document.scan_status
    pending = model.objects.filter(pk=pk, scan_status=ScanStatus.PENDING)
    if not antivirus.enabled():  # scanning switched off since the upload: accepted by policy
        pending.update(scan_status=ScanStatus.NOT_SCANNED, scan_detail=SCANNING_OFF)
        return ScanStatus.NOT_SCANNED
    try:
        with document.file.open("rb") as handle:
            result = antivirus.scan_stream(handle)
    except antivirus.ClamdUnavailable as error:
        pending.update(scan_detail=f"Analyse en attente : {error}"[:255])
        raise
    at = at or timezone.now()
    if not result.infected:
        pending.update(scan_status=ScanStatus.CLEAN, scanned_at=at, scan_detail="")
        logger.info("scan: %s %s clean", model_label, pk)
        return ScanStatus.CLEAN
    _quarantine(document, model=model, signature=result.signature, at=at)
    return ScanStatus.INFECTED


def _quarantine(document, *, model, signature, at):
    """Move the file under quarantine/, mark the row infected, and tell the operator and the agents."""
    storage, old_name = document.file.storage, document.file.name
    with document.file.open("rb") as handle:
        new_name = storage.save(posixpath.join(QUARANTINE_DIR, old_name), handle)
    try:
        with transaction.atomic():
            marked = model.objects.filter(pk=document.pk, scan_status=ScanStatus.PENDING).update(
                scan_status=ScanStatus.INFECTED,
                scanned_at=at,
                scan_signature=signature[:255],
                scan_detail="Fichier mis en quarantaine : jamais servi, conservé pour les agents.",
                file=new_name,
            )
            if marked != 1:  # another run got there first
                raise _LostRace
            document.refresh_from_db()
            handler = import_string(f"{INFECTED_HANDLERS[document._meta.label_lower]}.on_infected")
            handler(document, at=at)
            label = document._meta.label_lower
            transaction.on_commit(lambda: _enqueue_alert(label, document.pk))
    except _LostRace:
        storage.delete(new_name)
        return
    except Exception:
        storage.delete(new_name)
        raise
    storage.delete(old_name)
    logger.warning("scan: %s %s infected (%s), quarantined", document._meta.label_lower, document.pk, signature)


class _LostRace(Exception):
    pass


def _enqueue_alert(model_label, pk):
    enqueue(send_infected_alert, model_label, pk, then="the alert is not sent (the history keeps the quarantine)")


def send_infected_alert_email(*, model_label, pk):
    """E-mail the agents about a quarantined file: what, where, which signature."""
    document = apps.get_model(model_label).objects.select_related("uploaded_by").filter(pk=pk).first()
    if document is None or document.scan_status != ScanStatus.INFECTED:
        return False
    describe = import_string(f"{INFECTED_HANDLERS[model_label]}.describe")
    where, admin_path = describe(document)
    body = "\n".join(
        [
            "Bonjour,",
            "",
            "L'antivirus a détecté un fichier infecté : il a été mis en quarantaine et ne sera servi à personne.",
            "",
            f"Dossier : {where}",
            f"Pièce : {document} (SHA-256 {document.sha256})",
            f"Virus détecté : {document.scan_signature}",
            f"Déposée par : {document.uploaded_by.username}, "
            f"le {paris_datetime(document.uploaded_at)} (heure de Paris)",
            "",
            f"Voir le dossier : {settings.SITE_URL.rstrip('/')}{admin_path}",
            "",
            "— Plateforme de financement Ségur MSSanté",
        ]
    )
    subject = f"[Financement Ségur] Fichier infecté mis en quarantaine — {where}"
    send_mail(subject, body, None, [settings.AGENTS_NOTIFICATION_EMAIL])
    return True


def rescan_pending(*, older_than=timedelta(minutes=10)):
    """Queue again the scans still pending after `older_than` (task lost, clamd down for long);
    with scanning off, accept them as not scanned. Returns how many were handled."""
    cutoff = timezone.now() - older_than
    count = 0
    for model_label in INFECTED_HANDLERS:
        model = apps.get_model(model_label)
        pending = model.objects.filter(scan_status=ScanStatus.PENDING, uploaded_at__lte=cutoff)
        if not antivirus.enabled():
            count += pending.update(scan_status=ScanStatus.NOT_SCANNED, scan_detail=SCANNING_OFF)
            continue
        for pk in pending.values_list("pk", flat=True):
            enqueue_scan(model_label, pk)
            count += 1
    return count


# --- The tasks (named as when they lived in common.tasks: queued messages and beat still find them) ---

# clamd down or restarting: retried after 30 s, 60 s, 120 s… (capped at 10 min), then left to the
# sweep (rescan_pending_files). The file stays pending, never served, meanwhile.
SCAN_MAX_RETRIES = 6


@shared_task(name="common.tasks.scan_stored_file", bind=True, acks_late=True, max_retries=SCAN_MAX_RETRIES)
def scan_stored_file(self, model_label, pk):
    """Scan one uploaded proof with clamd (common.scanning); safe to run twice."""
    try:
        return scan_file(model_label=model_label, pk=pk)
    except antivirus.ClamdUnavailable as error:
        if self.request.retries >= self.max_retries:
            return None  # still pending: the sweep queues it again
        raise self.retry(exc=error, countdown=min(30 * 2**self.request.retries, 600)) from error


@shared_task(name="common.tasks.send_infected_alert", acks_late=True, **EMAIL_RETRY)
def send_infected_alert(model_label, pk):
    return send_infected_alert_email(model_label=model_label, pk=pk)


@shared_task(name="common.tasks.rescan_pending_files", acks_late=True)
def rescan_pending_files():
    """Queue again the scans still pending after 10 minutes (periodic; safe to run twice)."""
    return rescan_pending()
