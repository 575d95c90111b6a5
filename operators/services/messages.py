"""French messages of the operators services (tests reuse them)."""

REQUIRED = "Ce champ est obligatoire."
COMMENT_REQUIRED = "Un commentaire motivé est obligatoire pour cette action."
ALREADY_MEMBER = "Votre compte est déjà rattaché à un opérateur."
OPEN_ENROLMENT_EXISTS = "Vous avez déjà une demande d'enrôlement en cours."
AGENTS_CANNOT_ENROL = "Un compte d'agent ne peut pas représenter un opérateur."
INVALID_INVITATION = "Cette invitation est invalide, expirée ou déjà utilisée."
REFERENCING_TAKEN = "Ce numéro de référencement est attribué à un autre opérateur."
