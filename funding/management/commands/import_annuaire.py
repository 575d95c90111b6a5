import getpass
import json
from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from common import formatting
from common.formatting import paris_date
from funding import annuaire, services
from funding.annuaire import ExtractionError, open_extraction
from funding.management.progress import ProgressBar


def iso_date(value):
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"date attendue au format AAAA-MM-JJ, reçu « {value} »") from None


class Command(BaseCommand):
    help = "Importe l'extraction MSSanté de l'Annuaire Santé (.txt ou .zip) comme instantané des BAL publiées."
    # The system checks (URLs, admin, templates: a third of a second spent importing every view)
    # say nothing about a data load; `manage.py check --deploy` runs them at deployment and in CI.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("path", help="Extraction_Correspondance_MSSante_AAAAMMJJhhmm.txt ou .zip")
        parser.add_argument(
            "--as-of", help="date de l'extraction (AAAA-MM-JJ) ; par défaut, lue dans le nom du fichier"
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--user", help="identifiant de l'agent qui importe (enregistré sur l'instantané)")

    def handle(self, *args, **options):
        as_of = None
        if options["as_of"]:
            try:
                as_of = iso_date(options["as_of"])
            except ValueError as exc:
                raise CommandError(f"--as-of : {exc}") from None
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"--user : utilisateur inconnu « {options['user']} »")
        progress = None
        if options["format"] == "text":
            progress = self._progress(options["path"])
        try:
            result = services.annuaire_import(
                path=options["path"],
                as_of=as_of,
                actor=actor,
                actor_label=f"commande ({getpass.getuser()})",
                progress=progress,
            )
        except ExtractionError as exc:
            report = getattr(exc, "report", None)
            if report is not None and options["format"] == "json":
                self.stdout.write(
                    json.dumps(
                        {
                            "rows": report.rows,
                            "mailboxes": 0,
                            "by_type": {},
                            "unknown_domains": {},
                            "errors": report.errors,
                            "error": str(exc),
                        },
                        ensure_ascii=False,
                    )
                )
            raise CommandError(str(exc)) from None
        finally:
            if progress is not None:
                progress.close()
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.summary, ensure_ascii=False))
            return
        self._print_summary(result)

    def _progress(self, path):
        stream = getattr(self.stderr, "_out", self.stderr)
        try:
            with open_extraction(path) as extraction:
                total = extraction.size
        except ExtractionError:
            return None
        return ProgressBar.for_terminal(stream, total=total, label="Import de l'Annuaire")

    def _print_summary(self, result):
        snapshot, summary = result.snapshot, result.summary
        write = self.stdout.write
        if not result.created:
            write(
                f"Fichier déjà importé le {snapshot.imported_at:%d/%m/%Y à %H:%M} (instantané n° {snapshot.pk}, "
                f"extraction au {paris_date(snapshot.as_of)}) : rien à faire."
            )
        else:
            write(
                f"Instantané n° {snapshot.pk} enregistré : {Path(snapshot.file_name).name}, "
                f"extraction au {paris_date(snapshot.as_of)}."
            )
        if snapshot.generated_at is not None:
            write(
                f"Heure de génération utilisée : {formatting.paris_datetime(snapshot.generated_at)} (heure de Paris)."
            )
        else:
            write("Heure de génération inconnue (absente du nom du fichier).")
        for warning in summary["warnings"]:
            write(warning)
        write(f"Lignes lues : {formatting.count(summary['rows'])}")
        write(f"BAL distinctes : {formatting.count(summary['mailboxes'])}")
        for kind, count in summary["by_type"].items():
            write(f"  {kind} : {formatting.count(count)}{annuaire.type_note(kind)}")
        unknown = summary["unknown_domains"]
        write(
            f"Domaines inconnus : {formatting.count(len(unknown))} "
            f"({formatting.count(sum(unknown.values()))} BAL non attribuées)"
        )
        for domain, count in list(unknown.items())[:20]:
            write(f"  {domain} : {formatting.count(count)}")
        if len(unknown) > 20:
            write(f"  … et {formatting.count(len(unknown) - 20)} autres (liste complète dans l'administration)")
        errors = summary["errors"]
        write(f"Lignes en erreur : {formatting.count(snapshot.error_count)}")
        for error in errors[:50]:
            write(f"  ligne {error['line']} : {error['error']}")
        if len(errors) > 50:
            write(f"  … et {formatting.count(len(errors) - 50)} autres (--format json pour la liste complète)")
