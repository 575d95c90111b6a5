"""French messages of the operators services (tests reuse them)."""

REQUIRED = "Ce champ est obligatoire."
COMMENT_REQUIRED = "Un commentaire motivé est obligatoire pour cette action."
ALREADY_MEMBER = "Votre compte est déjà rattaché à un opérateur."
OPEN_ENROLMENT_EXISTS = "Vous avez déjà une demande d'enrôlement en cours."
AGENTS_CANNOT_ENROL = "Un compte d'agent ne peut pas représenter un opérateur."
INVALID_INVITATION = "Cette invitation est invalide, expirée ou déjà utilisée."
REFERENCING_TAKEN = "Ce numéro de référencement est attribué à un autre opérateur."
VAT_DECLARATION_REQUIRED = "Indiquez si l'entité est assujettie à la TVA (oui ou non)."
PROVIDER_NOT_LINKED = (
    "Aucun opérateur développeur de SIREN {siren} ne détient le numéro de référencement ANS valide {number} : "
    "vérifiez la déclaration, puis rattachez l'opérateur prestataire dans le champ « Opérateur prestataire "
    "rattaché » de la demande d'enrôlement avant de la valider."
)
CLEAR_REASON_REQUIRED = "Indiquez le motif de la levée du signal."
FLAG_ALREADY_CLEARED = "Ce signal de fraude a déjà été levé."
BANK_DETAILS_PENDING = (
    "Un changement de coordonnées bancaires est déjà en attente de validation : "
    "attendez la décision de l'agence avant d'en demander un autre."
)
BANK_DETAILS_UNCHANGED = "Ces coordonnées sont déjà les coordonnées bancaires validées de l'opérateur."
REFUSAL_REASON_REQUIRED = "Indiquez le motif du refus."
RIB_REQUIRED = "Joignez le relevé d'identité bancaire (RIB) du nouveau compte."
