from django.core.management.base import BaseCommand, CommandError

from claims.audit import audit_problem, read_checkpoint_file


class Command(BaseCommand):
    help = (
        "Recalcule les chaînes d'empreintes des historiques (demandes, enrôlements, changements de coordonnées "
        "bancaires, lots de paiement), vérifie que l'état de "
        "chaque objet est celui de son dernier événement et que les chaînes prolongent le dernier point de "
        "contrôle ; signale la première rupture (code de sortie 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint",
            metavar="FICHIER",
            help="Vérifier contre ce point de contrôle (fichier écrit par anchor_audit) plutôt que le dernier en base.",
        )

    def handle(self, *args, **options):
        checkpoint = read_checkpoint_file(options["checkpoint"]) if options["checkpoint"] else None

        def progress(key, count):
            if options["verbosity"] > 1:
                self.stderr.write(f"{count} {key} vérifiés…")

        problem, counts = audit_problem(checkpoint=checkpoint, progress=progress)
        if problem:
            raise CommandError(f"Journal d'audit altéré — {problem}")
        anchored = counts["checkpoint"]
        since = (
            f" ; prolonge le point de contrôle du {anchored.created_at:%d/%m/%Y %H:%M}"
            if anchored is not None
            else " ; aucun point de contrôle (anchor_audit)"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Journal d'audit intègre : {counts['events']} événements sur {counts['claims']} demandes, "
                f"{counts['enrolments']} enrôlements, {counts['bank_details']} changements de coordonnées "
                f"bancaires, {counts['payment_batches']} lots de paiement{since}."
            )
        )
