from django.core.management.base import BaseCommand

from operators import services
from operators.models import FraudFlag


class Command(BaseCommand):
    help = (
        "Cherche dans toute la base les IBAN partagés par plusieurs opérateurs et les fichiers (même SHA-256) "
        "réutilisés entre opérateurs ou entre types de pièces ; sans effet quand rien de nouveau n'est trouvé."
    )

    def handle(self, *args, **options):
        raised = services.fraud_signals_detect_all()
        still_open = FraudFlag.objects.filter(cleared_at__isnull=True).count()
        self.stdout.write(f"{len(raised)} nouveau(x) signal(aux) de fraude ; {still_open} ouvert(s) au total.")
