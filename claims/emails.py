"""E-mails to "the other side" of each claim event, deadline reminders, correction notices and
generated documents: who is told, what they read, sent at most once.

Each message is recorded in SentNotification so a redelivered task or a re-run job does not send it
twice. Never called in a request: claims.notifications queues the tasks that call these after commit.
"""

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from claims.enums import ClaimState
from claims.models import Claim, ClaimEvent, Document, SentNotification
from common.formatting import paris_date, paris_datetime
from common.roles import is_any_agent

# Actions that change something the other side must know; drafts edits and uploads do not.
NOTIFIED_ACTIONS = {
    "submit",
    "take",
    "request_changes",
    "resubmit",
    "approve",
    "reject",
    "mark_paid",
    "reopen",
    "withdraw",
    "lapse",
    "extend_deadline",
    "recovery_open",
    "recovery_observations",
    "recovery_decision",
    "recovery_order",
    "recovery_settled",
    "recovery_cancelled",
    "recovery_offset_reversed",
    "payment_order",
    "payment_order_cancelled",
    "confirm_payment",
    "payment_returned",
    "return_payment",
    "document_infected",
}
# Actions fired by the operator: the agents are told; every other action is told to the operator.
OPERATOR_ACTIONS = {"submit", "resubmit", "withdraw"}
# Actions either side may fire: the operator's are told to the agents, an agent's to the operator.
EITHER_SIDE_ACTIONS = {"recovery_observations"}


def _told_to_agents(event):
    if event.action in EITHER_SIDE_ACTIONS:
        return not is_any_agent(event.actor)
    return event.action in OPERATOR_ACTIONS


def operator_recipients(claim):
    emails = list(
        claim.operator.memberships.filter(is_active=True, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if claim.operator.contact_email:
        emails.append(claim.operator.contact_email)
    return sorted(set(emails))


def agent_recipients(claim):
    if claim.assigned_to_id and claim.assigned_to.email:
        return [claim.assigned_to.email]
    return [settings.AGENTS_NOTIFICATION_EMAIL]


def _subject(claim, text):
    return f"[Financement Ségur] {claim.get_kind_display()} n° {claim.pk} — {claim.operator.legal_name} : {text}"


def send_event_notification(event_id):
    """Send the e-mail of one claim event, at most once. Returns True when a message was sent."""
    event = ClaimEvent.objects.select_related("claim__operator", "claim__assigned_to").filter(pk=event_id).first()
    if event is None or event.action not in NOTIFIED_ACTIONS:
        return False
    claim = event.claim
    with transaction.atomic():
        try:
            with transaction.atomic():
                SentNotification.objects.create(key=f"event:{event.pk}", event=event)
        except IntegrityError:
            return False  # already sent
        to_agents = _told_to_agents(event)
        recipients = agent_recipients(claim) if to_agents else operator_recipients(claim)
        if not recipients:
            return False
        state = ClaimState(event.to_state).label
        about = (
            f"La demande « {claim.get_kind_display()} » n° {claim.pk} de {claim.operator.legal_name} "
            f"(campagne {claim.campaign.label})"
        )
        page = (
            reverse("admin:claims_claim_change", args=[claim.pk])
            if to_agents
            else reverse("portal:claim", args=[claim.pk])
        )
        lines = [
            "Bonjour,",
            "",
            f"{about} est désormais : {state}."
            if event.from_state != event.to_state
            else f"{about} : {event.action_label}.",
            f"{event.action_label} par {event.actor_label}, le {paris_datetime(event.at)} (heure de Paris).",
        ]
        if event.comment:
            lines += ["", "Commentaire :", event.comment]
        if event.action == "request_changes" and claim.correction_due:
            lines += ["", f"Réponse attendue avant le {paris_date(claim.correction_due)}."]
        lines += [
            "",
            f"Voir la demande : {settings.SITE_URL.rstrip('/')}{page}",
            "",
            "— Plateforme de financement Ségur MSSanté",
        ]
        # Raising here rolls back the SentNotification row, so the task's retry sends it again.
        # An event that leaves the state as it was (a recovery step, an extension) is named by its label.
        subject = state if event.from_state != event.to_state else event.action_label
        send_mail(_subject(claim, subject), "\n".join(lines), None, recipients)
    return True


def send_deadline_reminder(claim_id, deadline, days_left):
    claim = Claim.objects.select_related("operator", "campaign").get(pk=claim_id)
    if claim.state != ClaimState.DRAFT:
        return False
    recipients = operator_recipients(claim)
    if not recipients:
        return False
    body = (
        f"Bonjour,\n\nVotre demande « {claim.get_kind_display()} » n° {claim.pk} est encore en brouillon.\n"
        f"Elle doit être déposée au plus tard le {deadline} à 23 h 59 (heure de Paris), "
        f"soit dans {days_left} jour(s).\n\n— Plateforme de financement Ségur MSSanté"
    )
    send_mail(_subject(claim, f"date limite dans {days_left} jour(s)"), body, None, recipients)
    return True


def send_correction_notice(claim_id, kind):
    claim = Claim.objects.select_related("operator", "assigned_to").get(pk=claim_id)
    if claim.state != ClaimState.CHANGES_REQUESTED:
        return False
    due = paris_date(claim.correction_due)
    if kind == "reminder":
        recipients = operator_recipients(claim)
        subject = _subject(claim, f"compléments attendus avant le {due}")
        body = f"Bonjour,\n\nNous attendons vos compléments avant le {due} :\n\n{claim.correction_message}\n"
    else:
        recipients = agent_recipients(claim)
        subject = _subject(claim, f"délai de réponse dépassé ({due})")
        body = f"Bonjour,\n\nL'opérateur n'a pas répondu à la demande de compléments attendue le {due}.\n"
    if not recipients:
        return False
    send_mail(subject, body + "\n— Plateforme de financement Ségur MSSanté", None, recipients)
    return True


# What the e-mail carrying a generated document says, by kind (claims.enums.GENERATED_KINDS).
GENERATED_DOCUMENT_TEXT = {
    "decision_letter": "Vous trouverez ci-joint la lettre de décision concernant votre demande.",
    "receipt": "Votre demande a bien été reçue par l'agence de paiement. Vous trouverez ci-joint son accusé "
    "de dépôt : la date et l'heure du dépôt, les montants et l'empreinte de chaque pièce déposée. "
    "Il reste disponible dans les documents de la demande sur le portail.",
}


def send_decision_letter(document_id):
    """E-mail a generated document (decision letter, receipt) to the operator, with the PDF attached
    (at most once)."""
    document = Document.objects.select_related("claim__operator", "claim__campaign").filter(pk=document_id).first()
    if document is None:
        return False
    claim = document.claim
    recipients = operator_recipients(claim)
    if not recipients:
        return False
    with transaction.atomic():
        try:
            with transaction.atomic():
                SentNotification.objects.create(key=f"letter:{document.pk}")
        except IntegrityError:
            return False
        message = EmailMessage(
            _subject(claim, document.original_name),
            f"Bonjour,\n\n{GENERATED_DOCUMENT_TEXT.get(document.kind, GENERATED_DOCUMENT_TEXT['decision_letter'])}"
            "\n\n— Plateforme de financement Ségur MSSanté",
            None,
            recipients,
        )
        with document.file.open("rb") as pdf:
            message.attach(document.original_name, pdf.read(), "application/pdf")
        message.send()
    return True


def pending_event_ids(*, older_than=timedelta(minutes=2), within=timedelta(days=7)):
    """Transition events whose e-mail was never sent (their task was lost): the outbox."""
    now = timezone.now()
    return list(
        ClaimEvent.objects.filter(
            action__in=NOTIFIED_ACTIONS, at__lte=now - older_than, at__gte=now - within, notification__isnull=True
        ).values_list("pk", flat=True)
    )
