"""What an infected proof means for a claim (common.scanning calls these): a line in the claim's
history, e-mailed to the operator like every event (claims.notifications), and the agents' alert text."""

from django.urls import reverse

from claims.workflow import append_claim_event, lock_claim


def on_infected(document, *, at):
    """Write the quarantine in the claim's history; the operator is e-mailed after commit. Runs in
    the transaction that marks `document` infected."""
    claim = lock_claim(document.claim)
    append_claim_event(
        claim=claim,
        actor=None,
        action="document_infected",
        comment=(
            f"L'antivirus a détecté le virus « {document.scan_signature} » dans la pièce {document} : elle est "
            "mise en quarantaine et ne compte pas pour la demande. Déposez une nouvelle version saine."
        ),
        at=at,
    )


def describe(document):
    claim = document.claim
    return (
        f"{claim.get_kind_display()} n° {claim.pk} de {claim.operator.legal_name}",
        reverse("admin:claims_claim_change", args=[claim.pk]),
    )
