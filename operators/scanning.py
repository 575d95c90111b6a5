"""What an infected proof means for an enrolment or a bank-details request (common.scanning calls
these): a line in its history, e-mailed to the operator like every event, and the agents' alert text."""

from django.urls import reverse

from operators.models import BankDetailsChange, BankDetailsProof, Enrolment
from operators.services.bank_details import append_bank_details_event
from operators.services.enrolment import append_enrolment_event


def on_infected(document, *, at):
    """Write the quarantine in the owner's history; the operator is e-mailed after commit. Runs in
    the transaction that marks `document` infected."""
    comment = (
        f"L'antivirus a détecté le virus « {document.scan_signature} » dans la pièce {document} : elle est "
        "mise en quarantaine et ne compte pas. Déposez une nouvelle version saine."
    )
    if isinstance(document, BankDetailsProof):
        change = BankDetailsChange.objects.select_for_update().get(pk=document.change_id)
        append_bank_details_event(
            change=change, actor=None, action="document_infected", from_state=change.state, to_state=change.state,
            comment=comment, at=at,
        )  # fmt: skip
        return
    enrolment = Enrolment.objects.select_for_update(of=("self",)).get(pk=document.enrolment_id)
    append_enrolment_event(
        enrolment=enrolment, actor=None, action="document_infected", from_state=enrolment.state,
        to_state=enrolment.state, comment=comment, at=at,
    )  # fmt: skip


def describe(document):
    if isinstance(document, BankDetailsProof):
        change = document.change
        return (
            f"Changement de coordonnées bancaires n° {change.pk} de {change.operator.legal_name}",
            reverse("admin:operators_bankdetailschange_change", args=[change.pk]),
        )
    enrolment = document.enrolment
    return (
        f"Demande d'enrôlement n° {enrolment.pk} de {enrolment.legal_name} (SIREN {enrolment.siren})",
        reverse("admin:operators_enrolment_change", args=[enrolment.pk]),
    )
