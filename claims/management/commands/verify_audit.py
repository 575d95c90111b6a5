from django.core.management.base import BaseCommand, CommandError

from claims.audit import claim_audit_problem
from claims.models import Claim, ClaimEvent
from operators.models import Enrolment
from operators.selectors import enrolment_audit_problem


class Command(BaseCommand):
    help = (
        "Recalcule les chaînes d'empreintes des historiques (demandes et enrôlements) et signale la première rupture."
    )

    def handle(self, *args, **options):
        claims = Claim.objects.order_by("pk").only("pk", "audit_head")
        total = claims.count()
        checked_events = 0
        for index, claim in enumerate(claims.iterator(chunk_size=500), start=1):
            events = list(ClaimEvent.objects.filter(claim_id=claim.pk).order_by("seq", "pk"))
            broken = claim_audit_problem(claim, events)
            if broken:
                raise CommandError(f"Journal d'audit altéré — {broken}")
            checked_events += len(events)
            if options["verbosity"] > 1 and index % 1000 == 0:
                self.stderr.write(f"{index}/{total} demandes vérifiées…")
        enrolments = 0
        for enrolment in Enrolment.objects.order_by("pk").only("pk", "audit_head").iterator(chunk_size=500):
            broken = enrolment_audit_problem(enrolment=enrolment)
            if broken:
                raise CommandError(f"Journal d'audit altéré — {broken}")
            enrolments += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"Journal d'audit intègre : {checked_events} événements sur {total} demandes, {enrolments} enrôlements."
            )
        )
