from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from claims.audit import audit_anchor, write_checkpoint_file
from common.timestamping import TimestampError


class Command(BaseCommand):
    help = (
        "Enregistre un point de contrôle de la tête de chaque chaîne du journal d'audit, signé avec la clé "
        "d'audit et, si AUDIT_TSA_URL est défini, horodaté par une autorité d'horodatage (RFC 3161)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", metavar="DOSSIER", help="Écrire aussi le point de contrôle dans ce dossier (hors base)."
        )

    def handle(self, *args, **options):
        try:
            checkpoint = audit_anchor()
        except TimestampError as error:
            raise CommandError(f"Point de contrôle non enregistré : {error}") from error
        stamped = f", horodaté le {checkpoint.tsa_time:%d/%m/%Y %H:%M:%S}" if checkpoint.tsa_time else ""
        self.stdout.write(self.style.SUCCESS(f"Point de contrôle n° {checkpoint.pk} enregistré{stamped}."))
        if options["output"]:
            path = write_checkpoint_file(checkpoint, Path(options["output"]))
            self.stdout.write(f"Écrit dans {path}")
