import csv
import json

from django.core.management.base import BaseCommand, CommandError

from common.formatting import spreadsheet_text
from funding import selectors


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


def write_csv(stream, report):
    """The report as CSV (`;`, decimal point, CRLF as RFC 4180 says): one line per operator, then a TOTAL
    line. Text cells go through `spreadsheet_text` (never a formula) and are quoted when they hold a line
    break (the CRLF terminator makes the csv module quote a bare CR too); counts and amounts are numbers."""
    codes = [schedule.code for schedule in report["schedules"]]
    writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        ["siren", "raison_sociale", "APP", "ORG", "PER", "sources", "anomalie", *[f"montant_{code}" for code in codes]]
    )
    for row in report["rows"]:
        writer.writerow(
            [
                spreadsheet_text(row["operator"].siren),
                spreadsheet_text(row["operator"].legal_name),
                *row["counts"].values(),
                spreadsheet_text(",".join(f"{kind}:{source}" for kind, source in row["sources"].items())),
                "oui" if row["flagged"] else "non",
                *[f"{row['amounts'][code]:.2f}" for code in codes],
            ]
        )
    totals = report["totals"]
    writer.writerow(
        [
            "TOTAL",
            f"{len(report['rows'])} opérateurs",
            *totals["counts"].values(),
            "",
            "",
            *[f"{totals['amounts'][code]:.2f}" for code in codes],
        ]
    )
