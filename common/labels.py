"""The one table of French labels for event actions, as the history reads them (noun phrases).

Every `action` written to a claim's or an enrolment's hash-chained history has its label here;
the portal, the admin, the API (`action_label`) and the e-mails read them through
`claim_event_label` / `enrolment_event_label`. The buttons keep their verbs (the transitions'
`label` in `claims.workflow` and `operators.services.enrolment`): « Déposer la demande » on the
button, « Dépôt de la demande » in the history. `tests/common/test_labels.py` collects every
action the code writes and fails when one has no label here.
"""

CLAIM_EVENT_LABELS = {
    # The claim's life (services and transitions of claims.workflow).
    "create": "Création de la demande",
    "update": "Modification des informations de la demande",
    "document": "Dépôt d'une pièce",
    "letter": "Envoi d'un courrier de l'agence",
    "receipt": "Émission de l'accusé de dépôt",
    "submit": "Dépôt de la demande",
    "take": "Prise en charge",
    "request_changes": "Demande de compléments",
    "resubmit": "Renvoi de la demande complétée",
    "approve": "Approbation",
    "reject": "Rejet",
    "mark_paid": "Enregistrement du paiement",
    "reopen": "Réouverture de l'instruction",
    "withdraw": "Retrait de la demande",
    "lapse": "Constat de caducité",
    "extend_deadline": "Prolongation de la date limite",
    "document_infected": "Mise en quarantaine d'une pièce infectée",
    # Payment (claims.payments): batch lines, bank confirmations and returns.
    "payment_order": "Émission de l'ordre de paiement",
    "payment_order_cancelled": "Annulation de l'ordre de paiement",
    "confirm_payment": "Confirmation du paiement par la banque",
    "payment_returned": "Retour du virement par la banque",
    "return_payment": "Retour du paiement après comptabilisation",
    # Undue payments (claims.recoveries).
    "recovery_open": "Notification d'un indu",
    "recovery_observations": "Observations sur l'indu",
    "recovery_decision": "Décision sur l'indu",
    "recovery_order": "Émission de l'ordre de reversement",
    "recovery_settled": "Recouvrement ou compensation de l'indu",
    "recovery_cancelled": "Annulation de l'indu",
    "recovery_offset_reversed": "Annulation de la compensation de l'indu",
}

# A payment batch's own history (claims.PaymentBatchEvent).
BATCH_EVENT_LABELS = {
    "generate": "Création du lot et du fichier de virement",
    "send": "Transmission du lot à la banque",
    "cancel": "Annulation du lot",
    "settle": "Règlement du lot",
    "partly_return": "Retour partiel du lot",
}

# A bank-details change's history (operators.BankDetailsEvent).
BANK_DETAILS_EVENT_LABELS = {
    "request": "Demande de changement de coordonnées bancaires",
    "validate": "Validation des nouvelles coordonnées",
    "refuse": "Refus du changement de coordonnées",
    "document_infected": "Mise en quarantaine du RIB infecté",
}

ENROLMENT_EVENT_LABELS = {
    "submit": "Dépôt de la demande d'enrôlement",
    "request_changes": "Demande de compléments",
    "resubmit": "Renvoi de la demande complétée",
    "validate": "Validation de l'enrôlement",
    "reject": "Rejet de l'enrôlement",
    "document_infected": "Mise en quarantaine d'une pièce infectée",
}


def _label(table, action):
    # An unknown action (an old row, a label forgotten despite the test) shows its code, never fails.
    return table.get(action, action)


def claim_event_label(action):
    """`"submit"` → « Dépôt de la demande »."""
    return _label(CLAIM_EVENT_LABELS, action)


def batch_event_label(action):
    return _label(BATCH_EVENT_LABELS, action)


def bank_details_event_label(action):
    return _label(BANK_DETAILS_EVENT_LABELS, action)


def enrolment_event_label(action):
    """`"validate"` → « Validation de l'enrôlement »."""
    return _label(ENROLMENT_EVENT_LABELS, action)
