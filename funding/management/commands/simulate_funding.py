import json

from django.core.management.base import BaseCommand, CommandError

from common.formatting import count, euros
from funding.api.serializers import MAX_COUNT
from funding.formula import compute_breakdown, with_vat
from funding.selectors import schedule_by_code


def mailbox_count(value):
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"nombre entier attendu, reçu « {value} »") from None
    if number < 0 or number > MAX_COUNT:
        raise ValueError(f"doit être compris entre 0 et {MAX_COUNT}, reçu {number}")
    return number


class Command(BaseCommand):
    help = "Simule le financement d'un opérateur pour un barème et des nombres de BAL."

    def add_arguments(self, parser):
        parser.add_argument("--schedule", required=True, help="code du barème (ex. segur-2023)")
        parser.add_argument("--app", default="0", help="nombre de BAL applicatives")
        parser.add_argument("--org", default="0", help="nombre de BAL organisationnelles")
        parser.add_argument("--per", default="0", help="nombre de BAL personnelles")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, **options):
        counts = {}
        for key in ("app", "org", "per"):
            try:
                counts[key.upper()] = mailbox_count(options[key])
            except ValueError as exc:
                raise CommandError(f"--{key} : {exc}") from None
        schedule = schedule_by_code(options["schedule"])
        if schedule is None:
            raise CommandError(f"barème inconnu : « {options['schedule']} »")
        breakdown = compute_breakdown(schedule=schedule, counts=counts)
        if options["format"] == "json":
            self.stdout.write(json.dumps(breakdown.as_dict()))
            return
        self.stdout.write(self._table(breakdown, schedule))

    @staticmethod
    def _table(breakdown, schedule):
        def money(amount):
            return f"{euros(amount):>16}"

        rows = [f"Barème : {schedule.label} ({schedule.code})", ""]
        rows.append(f"{'Type':<6}{'Nombre':>12}{'Tarif HT':>16}{'Montant HT':>16}")
        for line in breakdown.lines:
            rows.append(f"{line.type:<6}{count(line.count):>12}{money(line.rate)}{money(line.amount)}")
        rows.append(f"{'Forfait':<34}{money(breakdown.base)}")
        rows.append(f"{'Sous-total':<34}{money(breakdown.subtotal)}")
        rows.append(f"{'Plafond':<34}{money(breakdown.cap)}{'  (appliqué)' if breakdown.capped else ''}")
        rows.append(f"{'Total HT':<34}{money(breakdown.total)}   TTC {euros(with_vat(breakdown.total))}")
        rows.append(f"{'Avance HT':<34}{money(breakdown.advance)}")
        rows.append(f"{'Solde HT':<34}{money(breakdown.balance)}")
        return "\n".join(rows)
