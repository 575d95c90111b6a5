from django.core.management.base import BaseCommand, CommandError

from common.exceptions import InvalidInput
from funding import selectors, services


class Command(BaseCommand):
    help = (
        "Recalcule les contrôles de croissance des BAL d'une campagne (extraction de référence → extraction de "
        "clôture) et signale les opérateurs dont la croissance dépasse celle de l'ensemble."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="code de la campagne")

    def handle(self, *args, **options):
        campaign = selectors.campaigns().filter(code=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"campagne inconnue : « {options['campaign']} »")
        try:
            checks = services.growth_checks_refresh(campaign=campaign)
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        flagged = [check for check in checks if check.flagged]
        overall = checks[0].overall_growth if checks else None
        self.stdout.write(
            f"{len(checks)} opérateurs contrôlés, croissance de l'ensemble ×{overall} ; {len(flagged)} signalé(s)."
        )
        for check in flagged:
            growth = f"×{check.growth}" if check.growth is not None else "nouvel opérateur"
            self.stdout.write(f"  {check.operator} : {check.reference_count} → {check.closure_count} BAL ({growth})")
