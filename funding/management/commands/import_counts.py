import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from common.exceptions import InvalidInput
from funding import services


class Command(BaseCommand):
    help = (
        "Importe un fichier de comptage par opérateur (CSV : siren;type;count;as_of). "
        "Toutes les lignes sont vérifiées d'abord : à la moindre erreur, rien n'est enregistré."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="fichier CSV (UTF-8, séparateur ; ou ,)")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--user", help="identifiant de l'agent qui importe (enregistré sur chaque nombre)")

    def handle(self, *args, **options):
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"--user : utilisateur inconnu « {options['user']} »")
        try:
            result = services.count_file_import(path=options["path"], actor=actor)
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {"rows": result.rows, "written": result.written, "errors": result.errors}, ensure_ascii=False
                )
            )
        else:
            for error in result.errors:
                self.stdout.write(f"ligne {error['line']} : {error['error']}")
            if not result.errors:
                self.stdout.write(f"{result.written} nombre(s) de BAL enregistré(s) (source : fichier de comptage).")
        if result.errors:
            raise CommandError(f"{len(result.errors)} ligne(s) en erreur : rien n'a été enregistré.")
