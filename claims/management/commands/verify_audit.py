from django.core.management.base import BaseCommand, CommandError

from claims.audit import first_broken_link
from claims.models import Claim, ClaimEvent


class Command(BaseCommand):
    help = "Recalcule la chaîne d'empreintes du journal d'audit et signale la première rupture."

    def handle(self, *args, **options):
        claims = Claim.objects.order_by("pk").only("pk", "audit_head")
        total = claims.count()
        checked_events = 0
        for index, claim in enumerate(claims.iterator(chunk_size=500), start=1):
            events = list(ClaimEvent.objects.filter(claim_id=claim.pk).order_by("seq", "pk"))
            broken = first_broken_link(claim, events)
            if broken:
                raise CommandError(f"Journal d'audit altéré — {broken}")
            checked_events += len(events)
            if options["verbosity"] > 1 and index % 1000 == 0:
                self.stderr.write(f"{index}/{total} demandes vérifiées…")
        self.stdout.write(
            self.style.SUCCESS(f"Journal d'audit intègre : {checked_events} événements sur {total} demandes.")
        )
