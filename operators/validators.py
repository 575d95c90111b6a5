"""Checks of French legal and bank identifiers (python-stdnum), with French messages."""

from django.core.exceptions import ValidationError
from stdnum import bic, iban
from stdnum.fr import siren, siret


def validate_siren(value: str) -> None:
    if not (value.isdigit() and len(value) == 9 and siren.is_valid(value)):
        raise ValidationError("SIREN invalide : 9 chiffres avec une clé de contrôle correcte.", code="invalid_siren")


def validate_siret(value: str) -> None:
    # stdnum knows La Poste's establishments (SIREN 356000000), whose SIRET follow their own rule.
    if not (value.isdigit() and len(value) == 14 and siret.is_valid(value)):
        raise ValidationError("SIRET invalide : 14 chiffres avec une clé de contrôle correcte.", code="invalid_siret")


def validate_iban(value: str) -> None:
    if not iban.is_valid(value):
        raise ValidationError("IBAN invalide.", code="invalid_iban")


def validate_bic(value: str) -> None:
    if not bic.is_valid(value):
        raise ValidationError("BIC invalide.", code="invalid_bic")
