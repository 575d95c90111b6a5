"""`python manage.py check_company SIREN [SIRET]`: a live lookup in the company directory (COMPANY_API_URL)."""

from django.core.management.base import BaseCommand, CommandError

from operators import company


class Command(BaseCommand):
    help = "Interroge le répertoire des entreprises (Sirene) pour un SIREN, et éventuellement un SIRET."

    def add_arguments(self, parser):
        parser.add_argument("siren")
        parser.add_argument("siret", nargs="?", default="")

    def handle(self, *args, siren, siret, **options):
        if not company.enabled():
            raise CommandError("COMPANY_API_URL est vide : aucun contrôle configuré.")
        try:
            found = company.company_lookup(siren=siren, siret=siret)
        except company.CompanyUnavailable as error:
            raise CommandError(f"Service indisponible : {error}") from None
        if found is None:
            raise CommandError(company.UNKNOWN_SIRET if siret else company.UNKNOWN_SIREN)
        self.stdout.write(f"{found.siren} — {found.legal_name} — {'active' if found.active else 'fermée'}")
        if siret:
            self.stdout.write(f"{siret} — établissement {'ouvert' if found.establishment_active else 'fermé'}")
        for messages in found.problems().values():
            for message in messages:
                self.stdout.write(message)
