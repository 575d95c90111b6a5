from django.core.management.base import BaseCommand, CommandError

from funding.synthetic import synthetic_domains, write_extraction


class Command(BaseCommand):
    help = (
        "Écrit une extraction MSSanté synthétique et réaliste (en-tête exact, BAL PER/ORG, quelques CAB, "
        "domaines d'opérateurs, doublons), identique pour une même graine. Pour les tests et les mesures."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="fichier à écrire (.txt, ou .zip avec --zip)")
        parser.add_argument("--rows", type=int, default=10_000, help="nombre de lignes de données")
        parser.add_argument("--seed", type=int, default=0, help="graine (même graine, même fichier)")
        parser.add_argument("--domains", type=int, default=300, help="nombre de domaines d'opérateurs")
        parser.add_argument("--unknown-domains", type=int, default=20, help="domaines inconnus des opérateurs")
        parser.add_argument("--trailing-pipe", action="store_true", help="un `|` en fin de chaque ligne")
        parser.add_argument("--crlf", action="store_true", help="fins de ligne CRLF")
        parser.add_argument("--bom", action="store_true", help="marque d'ordre des octets UTF-8 en tête")
        parser.add_argument("--zip", action="store_true", help="écrire une archive zip contenant le .txt")

    def handle(self, *args, **options):
        if options["rows"] < 0 or options["domains"] < 1 or options["unknown_domains"] < 1:
            raise CommandError("--rows doit être positif, --domains et --unknown-domains au moins 1")
        domains = synthetic_domains(
            operator_domains=options["domains"], unknown_domains=options["unknown_domains"], seed=options["seed"]
        )
        path = write_extraction(
            options["path"],
            rows=options["rows"],
            seed=options["seed"],
            trailing_pipe=options["trailing_pipe"],
            crlf=options["crlf"],
            bom=options["bom"],
            as_zip=options["zip"],
            domains=domains,
        )
        self.stdout.write(f"{path} : {options['rows']} lignes, {options['domains']} domaines d'opérateurs.")
