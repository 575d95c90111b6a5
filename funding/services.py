"""Writes on funding data: mailbox counts (the inputs of the formula)."""

from common.exceptions import InvalidInput, NotAllowed
from common.roles import Role, is_agent
from funding.enums import CountSource
from funding.models import MailboxCount


def mailbox_count_record(*, operator, mailbox_type, as_of, count, source_note, actor, source=CountSource.AGENT_ENTRY):
    if not is_agent(actor, Role.INSTRUCTOR):
        raise NotAllowed()
    if count < 0:
        raise InvalidInput("Le nombre de BAL ne peut pas être négatif.", errors={"count": ["Nombre négatif."]})
    if not (source_note or "").strip():
        message = "Indiquez la source du comptage (fichier, pièce justificative…)."
        raise InvalidInput(message, errors={"source_note": [message]})
    row, _ = MailboxCount.objects.update_or_create(
        operator=operator,
        mailbox_type=mailbox_type,
        as_of=as_of,
        defaults={"count": count, "source": source, "source_note": source_note.strip(), "entered_by": actor},
    )
    return row
