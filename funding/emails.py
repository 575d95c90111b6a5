"""E-mails about mailbox accounting: new growth flags, told to the agents once. Never called in a request:
funding.notifications queues the task that calls it after commit."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from common.formatting import count, percent
from funding.models import GrowthCheck

SIGNATURE = "\n\n— Plateforme de financement Ségur MSSanté"


def send_growth_flags(campaign_id):
    """E-mail the agents the campaign's flagged operators not told yet, then mark them told.

    Safe to run twice: the checks are claimed by a conditional update in the transaction that sends
    the e-mail, so a second run finds none, and a failed sending rolls the claim back for the task's
    retry. Returns the number of operators told.
    """
    pending = list(
        GrowthCheck.objects.filter(campaign_id=campaign_id, flagged=True, notified_at__isnull=True)
        .select_related("operator", "campaign")
        .order_by("operator__legal_name", "pk")
    )
    if not pending:
        return 0
    campaign = pending[0].campaign
    lines = []
    for check in pending:
        path = reverse("admin:operators_operator_change", args=[check.operator_id])
        lines.append(
            f"- {check.operator.legal_name} (SIREN {check.operator.siren}) : {count(check.reference_count)} → "
            f"{count(check.closure_count)} BAL, croissance {check.growth_label} contre "
            f"{percent(check.overall_growth)} pour l'ensemble (seuil ×{check.factor}) — {path}"
        )
    body = (
        f"Bonjour,\n\nLe contrôle de croissance des BAL de la campagne {campaign.label} ({campaign.code}) "
        f"signale {len(pending)} nouvel(s) opérateur(s) :\n\n" + "\n".join(lines) + "\n\n"
        "Leurs demandes portent le signalement ; vous pouvez demander les contrats avec les clients finaux "
        "par une demande de compléments."
    )
    subject = f"[Financement Ségur] {campaign.code} : croissance anormale de {len(pending)} opérateur(s)"
    with transaction.atomic():
        claimed = GrowthCheck.objects.filter(pk__in=[check.pk for check in pending], notified_at__isnull=True).update(
            notified_at=timezone.now()
        )
        if claimed != len(pending):
            return 0  # another run told them meanwhile (its update held ours until it committed)
        send_mail(subject, body + SIGNATURE, None, [settings.AGENTS_NOTIFICATION_EMAIL])
    return len(pending)
