"""Writes on funding data: mailbox counts (the inputs of the formula) and where they come from."""

import dataclasses
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from common.exceptions import InvalidInput, NotAllowed
from common.roles import Role, is_agent
from common.uploads import inspect_upload
from funding import annuaire, count_file, selectors
from funding.enums import CountSource, MailboxType
from funding.models import AnnuaireSnapshot, GrowthCheck, MailboxCount


def mailbox_count_record(
    *, operator, mailbox_type, as_of, count, source_note, actor, source=CountSource.AGENT_ENTRY, proof=None
):
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
    defaults = {"count": count, "source_note": source_note.strip(), "entered_by": actor}
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
    summary: dict = field(default_factory=dict)


def _summary(snapshot, *, errors=None):
    return {
        "rows": snapshot.rows,
        "mailboxes": snapshot.mailbox_total,
        "by_type": dict(snapshot.by_type),
        "unknown_domains": annuaire.unknown_domains(snapshot.pk, snapshot.as_of),
        "errors": list(snapshot.errors if errors is None else errors),
    }


def annuaire_import(*, path, as_of=None, actor=None, actor_label="", progress=None):
    """Import one Annuaire Santé MSSanté extraction (.txt or .zip) as a snapshot on `as_of`.

    Before anything is written: the header is checked and the file hashed; a file already
    imported (same SHA-256) is a no-op (`created` False). Then, in one transaction, the rows
    are parsed, loaded and folded; any failure leaves no snapshot. Raises ExtractionError
    (French message) for an unreadable file, a bad header, a missing date or too many bad rows.
    """
    with annuaire.open_extraction(path) as extraction:
        sha256 = annuaire.inspect_file(extraction)
    as_of = as_of or annuaire.as_of_from_name(Path(path).name, extraction.name)
    if as_of is None:
        raise annuaire.ExtractionError(
            "Date de l'extraction introuvable dans le nom du fichier "
            "(Extraction_Correspondance_MSSante_AAAAMMJJhhmm) : indiquez --as-of AAAA-MM-JJ."
        )
    existing = AnnuaireSnapshot.objects.filter(sha256=sha256).first()
    if existing is not None:
        return AnnuaireImportResult(snapshot=existing, created=False, summary=_summary(existing))

    report = annuaire.ParseReport()
    try:
        with transaction.atomic():
            snapshot = AnnuaireSnapshot.objects.create(
                as_of=as_of,
                generated_at=annuaire.generated_at_from_name(Path(path).name, extraction.name),
                file_name=Path(path).name[:255],
                sha256=sha256,
                imported_by=actor,
                imported_by_label=(actor.get_username() if actor is not None else actor_label)[:150],
            )
            with annuaire.open_extraction(path) as extraction:
                annuaire.load_rows(
                    annuaire.parse_batches(extraction, report, progress=progress), report, snapshot_id=snapshot.pk
                )
            by_type = dict.fromkeys(annuaire.KNOWN_TYPES, 0)
            by_type.update(annuaire.type_counts(snapshot.pk))
            by_type.update(report.unknown_types)
            snapshot.rows = report.rows
            snapshot.mailbox_total = sum(count for kind, count in by_type.items() if kind in annuaire.KNOWN_TYPES)
            snapshot.by_type = by_type
            snapshot.error_count = report.error_count
            snapshot.errors = report.errors
            snapshot.save(update_fields=["rows", "mailbox_total", "by_type", "error_count", "errors"])
    except IntegrityError:
        # The same file imported concurrently: the other import won and holds the snapshot.
        existing = AnnuaireSnapshot.objects.filter(sha256=sha256).first()
        if existing is None:
            raise
        return AnnuaireImportResult(snapshot=existing, created=False, summary=_summary(existing))
    except annuaire.ExtractionError as exc:
        exc.report = report
        raise
    return AnnuaireImportResult(snapshot=snapshot, created=True, summary=_summary(snapshot))


# --- Counts frozen on a claim (transfers) ------------------------------------------------------


@dataclass(frozen=True)
class FrozenCounts:
    counts: dict
    sources: dict
    excluded: dict


def claim_counts_freeze(*, campaign, operator, basis, funded_operator_ids=()):
    """The counts a claim of `operator` freezes, read on `basis` (see selectors.CountBasis), with
    their sources.

    `funded_operator_ids`: the other operators holding an approved or paid claim in `campaign`
    (the claims app knows them; funding never reads claims). Addresses already counted for one
    of them are left out of the Annuaire counts — a transferred park is funded once — and the
    addresses counted here are recorded for (campaign, operator), replacing an earlier set.
    Runs inside the caller's transaction, so a refused submission records nothing.
    """
    lines = selectors.count_lines_at(operator=operator, basis=basis)
    excluded = {}
    funded_operator_ids = {int(pk) for pk in funded_operator_ids} - {operator.pk}
    if any(line.source == CountSource.ANNUAIRE for line in lines.values()):
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
    errors: list


def count_file_import(*, path, actor=None):
    """Record the counts of a per-operator count file (CSV, see README) as MailboxCount rows.

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


def growth_checks_refresh(*, campaign):
    """Recompute the growth of every operator between the reference and the closure snapshots.

    Flagged: growth ratio above the overall growth × ANOMALY_GROWTH_FACTOR and an increase of at
    least ANOMALY_MIN_INCREASE mailboxes (an operator absent from the reference grows infinitely).
    Counted types: the funded ones the directory publishes (PER, ORG). Replaces the campaign's checks.
    """
    closure = selectors.closure_snapshot(campaign)
    if closure is None:
        raise InvalidInput(
            f"Aucune extraction de l'Annuaire générée après la clôture du {campaign.closure_date:%d/%m/%Y}."
        )
    reference = selectors.reference_snapshot(campaign)
    if reference is None or reference.pk == closure.pk:
        raise InvalidInput("Aucune extraction de référence antérieure à la clôture : importez-en une.")
    factor = Decimal(str(settings.ANOMALY_GROWTH_FACTOR))
    min_increase = int(settings.ANOMALY_MIN_INCREASE)

    def totals(snapshot):
        result = {}
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
        exceeds = growth is None or growth > overall * factor
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
                flagged=exceeds and new - old >= min_increase,
            )
        )
    with transaction.atomic():
        GrowthCheck.objects.filter(campaign=campaign).delete()
        GrowthCheck.objects.bulk_create(checks)
    return checks
