"""E-mails about enrolments, bank details, invitations and disabled webhooks: who is told and what they read.
Never called in a request: operators.notifications queues the tasks that call these after commit."""

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from common.formatting import paris_datetime
from operators.enums import BankDetailsChangeState, EnrolmentState
from operators.models import BankDetailsEvent, EnrolmentEvent, Invitation, Webhook

SIGNATURE = "\n\n— Plateforme de financement Ségur MSSanté"
# Actions of the representative are told to the agents; the agents' decisions to the representative.
REPRESENTATIVE_ACTIONS = {"submit", "resubmit"}


def send_enrolment_notification(event_id):
    event = EnrolmentEvent.objects.select_related("enrolment__user").filter(pk=event_id).first()
    if event is None:
        return False
    enrolment = event.enrolment
    if event.action in REPRESENTATIVE_ACTIONS:
        recipients = [settings.AGENTS_NOTIFICATION_EMAIL]
    else:
        recipients = [enrolment.user.email] if enrolment.user.email else []
    if not recipients:
        return False
    state = EnrolmentState(event.to_state).label
    # An event that leaves the state as it was (a quarantined proof) is named by its label.
    news = f"est désormais : {state}" if event.from_state != event.to_state else f": {event.action_label}"
    body = (
        f"Bonjour,\n\nLa demande d'enrôlement n° {enrolment.pk} de {enrolment.legal_name} "
        f"(SIREN {enrolment.siren}) {news}.\n"
        f"{event.action_label} par {event.actor_label}, le {paris_datetime(event.at)} (heure de Paris)."
    )
    if event.comment:
        body += f"\n\nCommentaire :\n{event.comment}"
    subject = f"[Financement Ségur] Enrôlement n° {enrolment.pk} — {enrolment.legal_name} : {state}"
    send_mail(subject, body + SIGNATURE, None, recipients)
    return True


def send_invitation_email(invitation_id, token):
    invitation = Invitation.objects.select_related("operator", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.accepted_at or invitation.revoked_at:
        return False
    link = f"{settings.SITE_URL.rstrip('/')}/portail/invitation/{token}/"
    body = (
        f"Bonjour,\n\n{invitation.invited_by.get_full_name() or invitation.invited_by.username} vous invite à "
        f"rejoindre l'espace de {invitation.operator.legal_name} sur la plateforme de financement Ségur MSSanté.\n\n"
        f"Pour créer votre compte et choisir votre mot de passe : {link}\n"
        f"(ou par l'API : POST /api/v1/invitations/accept avec ce jeton : {token})\n\n"
        f"Cette invitation expire le {paris_datetime(invitation.expires_at)} (heure de Paris)."
    )
    send_mail(
        f"[Financement Ségur] Invitation à rejoindre {invitation.operator.legal_name}",
        body + SIGNATURE,
        None,
        [invitation.email],
    )
    return True


def webhook_recipients(webhook):
    return operator_recipients(webhook.operator)


def send_webhook_disabled_email(webhook_id):
    webhook = Webhook.objects.select_related("operator").filter(pk=webhook_id).first()
    if webhook is None or webhook.is_active:
        return False
    recipients = webhook_recipients(webhook)
    if not recipients:
        return False
    body = (
        f"Bonjour,\n\nLe webhook {webhook.url} de {webhook.operator.legal_name} a été désactivé après "
        f"{webhook.consecutive_failures} livraisons en échec ({webhook.disabled_reason}).\n"
        "Corrigez le récepteur puis réactivez-le (PATCH /api/v1/webhooks/{id} avec "
        '{"is_active": true}) ; le journal des livraisons indique les erreurs reçues.'
    ).replace("{id}", str(webhook.pk))
    send_mail(f"[Financement Ségur] Webhook désactivé : {webhook.url}", body + SIGNATURE, None, recipients)
    return True


def operator_recipients(operator):
    """The operator's active members and its contact address."""
    emails = list(
        operator.memberships.filter(is_active=True, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if operator.contact_email:
        emails.append(operator.contact_email)
    return sorted(set(emails))


BANK_DETAILS_SENTENCES = {
    "request": "Votre demande de changement de coordonnées bancaires a été enregistrée : elle attend la "
    "validation de l'agence de paiement. D'ici là, les paiements restent versés sur le compte validé auparavant.",
    "validate": "Vos nouvelles coordonnées bancaires ont été validées : les prochains paiements y seront versés.",
    "refuse": "Votre demande de changement de coordonnées bancaires a été refusée : les paiements restent "
    "versés sur le compte validé auparavant.",
    "document_infected": "L'antivirus a détecté un virus dans le RIB joint à votre demande de changement de "
    "coordonnées bancaires : il a été mis en quarantaine. Refaites la demande avec un RIB sain.",
}


def send_bank_details_notification(event_id):
    """Each step of a bank-details change, to the operator (the request also to the agents)."""
    event = BankDetailsEvent.objects.select_related("change__operator").filter(pk=event_id).first()
    if event is None:
        return False
    change = event.change
    recipients = operator_recipients(change.operator)
    if event.action == "request":
        recipients.append(settings.AGENTS_NOTIFICATION_EMAIL)
    if not recipients:
        return False
    state = BankDetailsChangeState(event.to_state).label
    body = (
        f"Bonjour,\n\n{BANK_DETAILS_SENTENCES.get(event.action, '')}\n\n"
        f"Opérateur : {change.operator.legal_name} (SIREN {change.operator.siren})\n"
        f"Nouveau compte : IBAN se terminant par {change.iban[-4:]}, BIC {change.bic}\n"
        f"Demande n° {change.pk} — {state}, le {timezone.localtime(event.at):%d/%m/%Y à %H:%M} "
        f"par {event.actor_label}."
    )
    if event.comment and event.action != "request":
        body += f"\n\nMotif :\n{event.comment}"
    subject = f"[Financement Ségur] Coordonnées bancaires de {change.operator.legal_name} : {state}"
    send_mail(subject, body + SIGNATURE, None, sorted(set(recipients)))
    return True
