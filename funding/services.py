"""Writes on funding data: mailbox counts (the inputs of the formula) and where they come from."""

import dataclasses
import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from common.exceptions import InvalidInput, NotAllowed
from common.formatting import paris_date
from common.roles import Role, is_agent
from common.uploads import inspect_upload
from funding import annuaire, count_file, notifications, selectors
from funding.calendar import PARIS
from funding.enums import CountSource, MailboxType
from funding.models import AnnuaireSnapshot, Campaign, GrowthCheck, MailboxCount
from funding.selectors import CountBasis
from operators.models import Operator

logger = logging.getLogger(__name__)


def mailbox_count_record(
    *,
    operator: Operator,
    mailbox_type: str,
    as_of: date,
    count: int,
    source_note: str,
    actor: User,
    source: str = CountSource.AGENT_ENTRY,
    proof: UploadedFile | None = None,
) -> MailboxCount:
    """An agent records a count with its justification and, ideally, a proof (PDF, PNG or JPEG).

    The proof is checked by content before anything is written and stored with its SHA-256;
    a later entry for the same operator, type, day and source replaces the figure and keeps its own
    proof. An agent's entry prevails over the count file's and the Annuaire's figures of that day.
    """
    if not is_agent(actor, Role.INSTRUCTOR):
        raise NotAllowed()
    if mailbox_type not in MailboxType.values:
        message = "Type de BAL inconnu."
        raise InvalidInput(message, errors={"mailbox_type": [message]})
    if count < 0:
        raise InvalidInput("Le nombre de BAL ne peut pas être négatif.", errors={"count": ["Nombre négatif."]})
    if not (source_note or "").strip():
        message = "Indiquez la source du comptage (fichier, pièce justificative…)."
        raise InvalidInput(message, errors={"source_note": [message]})
    defaults: dict[str, object] = {"count": count, "source_note": source_note.strip(), "entered_by": actor}
    if proof is not None:
        _, _, sha256, display_name = inspect_upload(proof)
        defaults["proof_sha256"] = sha256
    with transaction.atomic():
        row, _ = MailboxCount.objects.update_or_create(
            operator=operator, mailbox_type=mailbox_type, as_of=as_of, source=source, defaults=defaults
        )
        if proof is not None:
            row.proof.save(display_name, proof, save=False)
            stored, storage = row.proof.name, row.proof.storage
            try:
                MailboxCount.objects.filter(pk=row.pk).update(proof=stored)
            except Exception:
                storage.delete(stored)
                raise
    return row


# --- Annuaire Santé extraction ----------------------------------------------------------------


@dataclass
class AnnuaireImportResult:
    snapshot: AnnuaireSnapshot
    created: bool
    summary: dict[str, object] = field(default_factory=dict)


class ImportProgress(Protocol):
    """What reports an import's progress (the import_annuaire command's progress line)."""

    def update(self, position: int, rows: int, *, force: bool = False) -> None: ...


def _summary(snapshot: AnnuaireSnapshot, *, errors: list[object] | None = None) -> dict[str, object]:
    return {
        "rows": snapshot.rows,
        "mailboxes": snapshot.mailbox_total,
        "by_type": dict(snapshot.by_type),
        "unknown_domains": annuaire.unknown_domains(snapshot.pk, snapshot.as_of),
        "errors": list(snapshot.errors if errors is None else errors),
        # Paris time, as read in the file name (the database returns it in UTC).
        "generated_at": snapshot.generated_at.astimezone(PARIS).isoformat() if snapshot.generated_at else None,
        "warnings": [
            w for w in [annuaire.generation_warning(generated_at=snapshot.generated_at, as_of=snapshot.as_of)] if w
        ],
    }


class _SameTextImported(Exception):
    """Raised inside the import's transaction to roll it back: the text turned out to be a snapshot's."""

    def __init__(self, snapshot: AnnuaireSnapshot) -> None:
        self.snapshot = snapshot


def annuaire_import(
    *,
    path: str | Path,
    as_of: date | None = None,
    actor: User | None = None,
    actor_label: str = "",
    progress: ImportProgress | None = None,
) -> AnnuaireImportResult:
    """Import one Annuaire Santé MSSanté extraction (.txt or .zip) as a snapshot on `as_of`.

    Before anything is written the header is checked and the file recognised when it was already
    imported (`created` False, a no-op): a .txt by the SHA-256 of a hash pass (reading a plain file
    costs little); a .zip by its member's name, size and CR-32 read from the archive's directory,
    without inflating it. A zip is inflated once: its SHA-256 is computed while it is parsed (the
    same text imported unzipped before is then recognised and the transaction rolled back).
    In one transaction the rows are parsed, loaded and folded; any failure leaves no snapshot.
    Raises ExtractionError (French message) for an unreadable, truncated or damaged file, a bad
    header, a missing date or too many bad rows. A new snapshot then refreshes the growth checks
    of the campaigns whose reference or closure snapshot it changed (growth_checks_refresh_stale).
    """
    file_name = Path(path).name
    with annuaire.open_extraction(path) as extraction:
        if extraction.archive:
            result = _import_extraction(
                extraction,
                file_name=file_name,
                as_of=as_of,
                actor=actor,
                actor_label=actor_label,
                progress=progress,
            )
        else:
            sha256, crc32 = annuaire.inspect_file(extraction)
            known_key = annuaire.text_key(extraction.name, extraction.size, crc32)
    if not extraction.archive:
        with annuaire.open_extraction(path) as extraction:
            result = _import_extraction(
                extraction,
                file_name=file_name,
                as_of=as_of,
                actor=actor,
                actor_label=actor_label,
                progress=progress,
                known=(sha256, known_key),
            )
    if result.created:
        transaction.on_commit(lambda: growth_checks_refresh_stale(trigger=result.snapshot), robust=True)
    return result


def _import_extraction(
    extraction: annuaire.Extraction,
    *,
    file_name: str,
    as_of: date | None,
    actor: User | None,
    actor_label: str,
    progress: ImportProgress | None,
    known: tuple[str, str] | None = None,
) -> AnnuaireImportResult:
    """The import proper, on an opened extraction (`known`: the (SHA-256, text key) of a hash pass)."""
    sha256, key = known if known is not None else (None, extraction.text_key)
    existing = None
    if sha256 is not None:
        existing = AnnuaireSnapshot.objects.filter(sha256=sha256).first()
    if existing is None and key:
        existing = AnnuaireSnapshot.objects.filter(text_key=key).order_by("pk").first()
    if existing is not None:
        return AnnuaireImportResult(snapshot=existing, created=False, summary=_summary(existing))
    as_of = as_of or annuaire.as_of_from_name(file_name, extraction.name)
    if as_of is None:
        raise annuaire.ExtractionError(
            "Date de l'extraction introuvable dans le nom du fichier "
            "(Extraction_Correspondance_MSSante_AAAAMMJJhhmm) : indiquez --as-of AAAA-MM-JJ."
        )
    # A zip's text is hashed while it is parsed (inflated once); a plain file's was hashed already.
    hashing = annuaire.HashingReader(extraction.raw, crc=False) if sha256 is None else None
    reader = extraction.raw if hashing is None else hashing
    annuaire.read_header(reader)
    # HashingReader reads like the stream it wraps; Extraction.raw (funding.annuaire) says BufferedIOBase.
    hashed = dataclasses.replace(extraction, raw=reader)  # type: ignore[arg-type]
    report = annuaire.ParseReport()
    try:
        with transaction.atomic():
            snapshot = AnnuaireSnapshot.objects.create(
                as_of=as_of,
                generated_at=annuaire.generated_at_from_name(file_name, extraction.name),
                file_name=file_name[:255],
                # Unique: a placeholder until the text has been read through (never committed).
                sha256=sha256 or f"en-cours-{uuid.uuid4().hex}",
                text_key=key or "",
                imported_by=actor,
                imported_by_label=(actor.get_username() if actor is not None else actor_label)[:150],
            )
            annuaire.load_rows(
                annuaire.parse_batches(hashed, report, progress=progress, header_read=True),
                report,
                snapshot_id=snapshot.pk,
            )
            if hashing is not None:
                snapshot.sha256 = hashing.hexdigest()
                same = AnnuaireSnapshot.objects.filter(sha256=snapshot.sha256).exclude(pk=snapshot.pk).first()
                if same is not None:
                    raise _SameTextImported(same)
            by_type = dict.fromkeys(annuaire.KNOWN_TYPES, 0)
            by_type.update(annuaire.type_counts(snapshot.pk))
            by_type.update(report.unknown_types)
            snapshot.rows = report.rows
            snapshot.mailbox_total = sum(count for kind, count in by_type.items() if kind in annuaire.KNOWN_TYPES)
            snapshot.by_type = by_type
            snapshot.error_count = report.error_count
            snapshot.errors = report.errors
            snapshot.save(update_fields=["sha256", "rows", "mailbox_total", "by_type", "error_count", "errors"])
    except _SameTextImported as same:
        return AnnuaireImportResult(snapshot=same.snapshot, created=False, summary=_summary(same.snapshot))
    except IntegrityError:
        # The same file imported concurrently: the other import won and holds the snapshot.
        text_sha256 = sha256 if hashing is None else hashing.hexdigest()
        existing = AnnuaireSnapshot.objects.filter(sha256=text_sha256).first()
        if existing is None:
            raise
        return AnnuaireImportResult(snapshot=existing, created=False, summary=_summary(existing))
    except annuaire.ExtractionError as exc:
        # The import command reads it (getattr); ExtractionError, in funding.annuaire, does not declare it.
        exc.report = report  # type: ignore[attr-defined]
        raise
    return AnnuaireImportResult(snapshot=snapshot, created=True, summary=_summary(snapshot))


# --- Counts frozen on a claim (transfers) ------------------------------------------------------


@dataclass(frozen=True)
class FrozenCounts:
    counts: dict[str, int]
    sources: dict[str, dict[str, object]]
    excluded: dict[str, int]  # {type: addresses left out, already funded for another operator}


def claim_counts_freeze(
    *, campaign: Campaign, operator: Operator, basis: CountBasis, funded_operator_ids: Iterable[int | str] = ()
) -> FrozenCounts:
    """The counts a claim of `operator` freezes, read on `basis` (see selectors.CountBasis), with
    their sources.

    `funded_operator_ids`: the other operators holding an approved or paid claim in `campaign`
    (the claims app knows them; funding never reads claims). Addresses already counted for one
    of them are left out of the Annuaire counts — a transferred park is funded once — and the
    addresses counted here are recorded for (campaign, operator), replacing an earlier set.
    Runs inside the caller's transaction, so a refused submission records nothing.
    """
    lines = selectors.count_lines_at(operator=operator, basis=basis)
    excluded: dict[str, int] = {}
    funded_operator_ids = {int(pk) for pk in funded_operator_ids} - {operator.pk}
    # (Annuaire lines come from the basis' snapshot: there is one when there are such lines.)
    if basis.snapshot is not None and any(line.source == CountSource.ANNUAIRE for line in lines.values()):
        scope = {
            "snapshot_id": basis.snapshot.pk,
            "day": basis.snapshot_day,
            "operator_id": operator.pk,
            "campaign_id": campaign.pk,
            "excluded_operator_ids": funded_operator_ids,
        }
        kept = annuaire.operator_counts_excluding(**scope) if funded_operator_ids else None
        for kind, line in list(lines.items()):
            if line.source != CountSource.ANNUAIRE or kept is None:
                continue
            count = kept.get(kind, 0)
            if count != line.count:
                excluded[kind] = line.count - count
                detail = f"{line.detail} ; {line.count - count} BAL déjà financées pour un autre opérateur exclues"
                lines[kind] = dataclasses.replace(line, count=count, detail=detail)
        annuaire.record_counted_mailboxes(**scope)
    else:
        annuaire.forget_counted_mailboxes(campaign_id=campaign.pk, operator_id=operator.pk)
    return FrozenCounts(
        counts={kind: line.count for kind, line in lines.items()},
        sources={kind: line.as_dict() for kind, line in lines.items()},
        excluded=excluded,
    )


# --- Per-operator count file -------------------------------------------------------------------


@dataclass
class CountFileResult:
    rows: int
    written: int
    errors: list[dict[str, object]]


def count_file_import(*, path: str | Path, actor: User | None = None) -> CountFileResult:
    """Record the counts of a per-operator count file (CSV, see docs/mailboxes.md) as MailboxCount rows.

    Every line is checked first; any error and nothing is written (the errors carry line numbers,
    the header being line 1). Returns the number of data rows, rows written and errors.
    """
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Fichier illisible : {exc.strerror or exc}") from None
    sha256 = hashlib.sha256(content).hexdigest()
    parsed, errors = count_file.parse(content)
    if errors:
        return CountFileResult(rows=len(parsed) + len(errors), written=0, errors=errors)
    with transaction.atomic():
        for row in parsed:
            MailboxCount.objects.update_or_create(
                operator=row.operator,
                mailbox_type=row.mailbox_type,
                as_of=row.as_of,
                source=CountSource.COUNT_FILE,
                defaults={
                    "count": row.count,
                    "source_note": f"Fichier {path.name[:200]} (SHA-256 {sha256[:12]}…), ligne {row.line}",
                    "entered_by": actor,
                    "proof": "",
                    "proof_sha256": "",
                },
            )
    return CountFileResult(rows=len(parsed), written=len(parsed), errors=[])


# --- Growth anomalies --------------------------------------------------------------------------


def growth_checks_refresh(*, campaign: Campaign) -> list[GrowthCheck]:
    """Recompute the growth of every operator between the reference and the closure snapshots.

    Flagged: growth ratio above the overall growth × ANOMALY_GROWTH_FACTOR and an increase of at
    least ANOMALY_MIN_INCREASE mailboxes. An operator with no mailbox at the reference is a newcomer
    (the seeds open the funding to them): its growth is left empty and it is never flagged.
    Counted types: the funded ones the directory publishes (PER, ORG). Replaces the campaign's checks;
    an operator still flagged keeps `notified_at`, and the agents are e-mailed the new flags once
    (after commit).
    """
    closure = selectors.closure_snapshot(campaign)
    if closure is None:
        raise InvalidInput(
            f"Aucune extraction de l'Annuaire générée après la clôture du {paris_date(campaign.closure_date)}."
        )
    reference = selectors.reference_snapshot(campaign)
    if reference is None or reference.pk == closure.pk:
        raise InvalidInput("Aucune extraction de référence antérieure à la clôture : importez-en une.")
    factor = Decimal(str(settings.ANOMALY_GROWTH_FACTOR))
    min_increase = int(settings.ANOMALY_MIN_INCREASE)

    def totals(snapshot: AnnuaireSnapshot) -> dict[int, int]:
        result: dict[int, int] = {}
        for (operator_id, kind), count in annuaire.operator_type_counts(snapshot.pk, snapshot.as_of).items():
            if kind in annuaire.FUNDED_TYPES:
                result[operator_id] = result.get(operator_id, 0) + count
        return result

    before, after = totals(reference), totals(closure)
    total_before, total_after = sum(before.values()), sum(after.values())
    if total_before == 0:
        raise InvalidInput("L'extraction de référence ne compte aucune BAL attribuée à un opérateur.")
    overall = Decimal(total_after) / Decimal(total_before)
    checks = []
    for operator_id in sorted(set(before) | set(after)):
        old, new = before.get(operator_id, 0), after.get(operator_id, 0)
        growth = Decimal(new) / Decimal(old) if old else None
        checks.append(
            GrowthCheck(
                campaign=campaign,
                operator_id=operator_id,
                reference_snapshot=reference,
                closure_snapshot=closure,
                reference_count=old,
                closure_count=new,
                growth=growth.quantize(Decimal("0.0001")) if growth is not None else None,
                overall_growth=overall.quantize(Decimal("0.0001")),
                factor=factor,
                min_increase=min_increase,
                flagged=growth is not None and growth > overall * factor and new - old >= min_increase,
            )
        )
    with transaction.atomic():
        told = dict(
            GrowthCheck.objects.filter(campaign=campaign, flagged=True, notified_at__isnull=False).values_list(
                "operator_id", "notified_at"
            )
        )
        for check in checks:
            if check.flagged:
                check.notified_at = told.get(check.operator_id)
        GrowthCheck.objects.filter(campaign=campaign).delete()
        GrowthCheck.objects.bulk_create(checks)
        if any(check.flagged and check.notified_at is None for check in checks):
            campaign_id = campaign.pk
            transaction.on_commit(lambda: notifications.schedule_growth_flags(campaign_id))
    return checks


def growth_checks_stale(campaign: Campaign) -> bool:
    """True when the campaign's growth checks are missing or were computed on other snapshots than
    its reference and closure snapshots today (an import, a new reference date, a closure choice),
    and both exist."""
    closure = selectors.closure_snapshot(campaign)
    reference = selectors.reference_snapshot(campaign)
    if closure is None or reference is None or reference.pk == closure.pk:
        return False
    current = (
        GrowthCheck.objects.filter(campaign=campaign)
        .values_list("reference_snapshot_id", "closure_snapshot_id")
        .first()
    )
    return current != (reference.pk, closure.pk)


def growth_checks_refresh_stale(*, trigger: AnnuaireSnapshot | None = None) -> list[Campaign]:
    """Refresh the growth checks of every campaign whose checks are stale (see growth_checks_stale).

    Called after each Annuaire import (`trigger`: the new snapshot, for the log) and by the daily
    job; safe to run twice. A campaign whose figures cannot be computed (no operator's mailbox at
    the reference) is left as it is and logged. Returns the campaigns refreshed.
    """
    refreshed = []
    for campaign in Campaign.objects.select_related("closure_snapshot").order_by("pk"):
        if not growth_checks_stale(campaign):
            continue
        try:
            growth_checks_refresh(campaign=campaign)
        except InvalidInput as exc:
            logger.warning("growth checks of %s not refreshed: %s", campaign.code, exc.message)
            continue
        logger.info("growth checks of %s refreshed (snapshot %s)", campaign.code, getattr(trigger, "pk", None))
        refreshed.append(campaign)
    return refreshed
