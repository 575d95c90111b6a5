import json

from django.core.management.base import BaseCommand, CommandError

from common.formatting import count, euros, vat_rate
from funding.api.serializers import ScheduleChoiceSerializer
from funding.enums import MAX_COUNT
from funding.formula import compute_breakdown, with_vat
from funding.selectors import current_vat_rate
from operators.enums import OperatorKind


def mailbox_count(value):
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"nombre entier attendu, reçu « {value} »") from None
    if number < 0 or number > MAX_COUNT:
        raise ValueError(f"doit être compris entre 0 et {count(MAX_COUNT)}, reçu {count(number)}")
    return number


COUNT_OPTIONS = {"app": "APP", "org": "ORG", "per": "PER"}
FORMATS = ("table", "json")
# The schedule comes as in the API: `--schedule`, or `--campaign` + `--operator-kind`.
CHOICE_OPTIONS = {"schedule": "--schedule", "campaign": "--campaign", "operator_kind": "--operator-kind"}


class Command(BaseCommand):
    help = (
        "Simule le financement d'un opérateur pour des nombres de BAL, selon un barème (--schedule) "
        "ou le barème d'une campagne pour un type d'opérateur (--campaign et --operator-kind)."
    )

    def add_arguments(self, parser):
        # No argparse `required` or `choices`: its errors are English and take two lines; every bad
        # input here is one French line (docs/spec/SPEC.md §6), checked in handle().
        parser.add_argument("--schedule", help="code du barème (ex. segur-2023)")
        parser.add_argument("--campaign", help="code de la campagne (ex. segur-mss-2023), avec --operator-kind")
        parser.add_argument("--operator-kind", help="developer ou buyer : le barème de la campagne qui s'applique")
        parser.add_argument("--app", help="nombre de BAL applicatives (obligatoire)")
        parser.add_argument("--org", help="nombre de BAL organisationnelles (obligatoire)")
        parser.add_argument("--per", help="nombre de BAL personnelles (obligatoire)")
        parser.add_argument("--format", default="table", help="table (par défaut) ou json")

    def handle(self, *args, **options):
        missing = [f"--{key}" for key in COUNT_OPTIONS if options[key] is None]
        if missing:
            plural = "s" if len(missing) > 1 else ""
            raise CommandError(f"argument{plural} obligatoire{plural} manquant{plural} : {', '.join(missing)}")
        if options["format"] not in FORMATS:
            raise CommandError(f"--format : table ou json attendu, reçu « {options['format']} »")
        counts = {}
        for key, mailbox_type in COUNT_OPTIONS.items():
            try:
                counts[mailbox_type] = mailbox_count(options[key])
            except ValueError as exc:
                raise CommandError(f"--{key} : {exc}") from None
        choice = ScheduleChoiceSerializer(
            data={name: options[name] for name in CHOICE_OPTIONS if options[name] is not None}
        )
        if not choice.is_valid():
            name, messages = next(iter(choice.errors.items()))
            raise CommandError(f"{CHOICE_OPTIONS.get(name, name)} : {messages[0]}")
        schedule = choice.validated_data["schedule"]
        breakdown = compute_breakdown(schedule=schedule, counts=counts)
        if options["format"] == "json":
            self.stdout.write(json.dumps(breakdown.as_dict()))
            return
        heading = []
        # VAT beside the total, at the campaign's rate (data), else the newest campaign's.
        rate = current_vat_rate()
        if "campaign" in choice.validated_data:
            campaign, kind = choice.validated_data["campaign"], choice.validated_data["operator_kind"]
            heading.append(f"Campagne : {campaign.label} ({campaign.code}) — {OperatorKind(kind).label.lower()}")
            rate = campaign.vat_rate if campaign.pays_vat else None
        self.stdout.write("\n".join([*heading, self._table(breakdown, schedule, rate)]))

    @staticmethod
    def _table(breakdown, schedule, rate):
        def money(amount):
            return f"{euros(amount):>16}"

        rows = [f"Barème : {schedule.label} ({schedule.code})", ""]
        rows.append(f"{'Type':<6}{'Nombre':>12}{'Tarif HT':>16}{'Montant HT':>16}")
        for line in breakdown.lines:
            rows.append(f"{line.type:<6}{count(line.count):>12}{money(line.rate)}{money(line.amount)}")
        rows.append(f"{'Forfait':<34}{money(breakdown.base)}")
        rows.append(f"{'Sous-total':<34}{money(breakdown.subtotal)}")
        rows.append(f"{'Plafond':<34}{money(breakdown.cap)}{'  (appliqué)' if breakdown.capped else ''}")
        total = f"{'Total HT':<34}{money(breakdown.total)}"
        if rate:
            total += f"   TTC {euros(with_vat(breakdown.total, rate))} (TVA {vat_rate(rate)}, opérateur assujetti)"
        rows.append(total)
        rows.append(f"{'Avance HT':<34}{money(breakdown.advance)}")
        rows.append(f"{'Solde HT':<34}{money(breakdown.balance)}")
        return "\n".join(rows)
