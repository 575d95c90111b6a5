"""`python manage.py import_bank_return FILE [--format json]`: apply the bank's return file."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from claims.payments import bank_return_import
from common.exceptions import DomainError


class Command(BaseCommand):
    help = (
        "Importe un retour de la banque (rapport d'état pain.002.001.03 ou avis de débit camt.054.001.02) : "
        "rapproche chaque virement de sa ligne de lot par l'EndToEndId ; un même fichier n'est appliqué qu'une fois."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="chemin du fichier XML reçu de la banque")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Fichier illisible : {path} ({error.strerror}).") from None
        try:
            report = bank_return_import(content=content, file_name=path.name, actor=None)
        except DomainError as error:
            raise CommandError(error.message) from None
        if options["format"] == "json":
            data = {**report.as_dict(), "already_imported": report.already_imported is not None}
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        self.stdout.write(report.summary())
        for title, sentences in (
            ("Payés", report.paid),
            ("Retournés", report.returned),
            ("Déjà à jour", report.unchanged),
            ("En attente", report.pending),
            ("Non rapprochés", report.unmatched),
            ("Anomalies", report.errors),
        ):
            for sentence in sentences:
                self.stdout.write(f"  {title} — {sentence}")
