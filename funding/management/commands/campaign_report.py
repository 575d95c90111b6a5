import json

from django.core.management.base import BaseCommand, CommandError

from funding import selectors
from funding.exports import write_csv


class Command(BaseCommand):
    help = (
        "Budget d'une campagne : par opérateur, les BAL à la date de clôture et le montant selon le barème "
        "de la campagne et selon d'autres barèmes, avec les totaux."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="code de la campagne")
        parser.add_argument(
            "--schedule",
            action="append",
            help="barème de comparaison (répétable) ; par défaut, tous les autres barèmes",
        )
        parser.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args, **options):
        campaign = selectors.campaigns().filter(code=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"campagne inconnue : « {options['campaign']} »")
        schedules = None
        if options["schedule"]:
            schedules = []
            for code in options["schedule"]:
                schedule = selectors.schedule_by_code(code)
                if schedule is None:
                    raise CommandError(f"barème inconnu : « {code} »")
                schedules.append(schedule)
        report = selectors.campaign_report(campaign=campaign, schedules=schedules)
        if options["format"] == "json":
            self.stdout.write(json.dumps(selectors.campaign_report_as_dict(report), ensure_ascii=False))
            return
        write_csv(self.stdout, report)
