"""Two operators with a user each, a campaign open for filing, an instructor and a validator."""

from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from operators import services as operator_services
from tests.factories import (
    PDF,
    OperatorFactory,
    agent,
    operator_user,
    record_counts,
    segur_campaign,
    validator,
)


@dataclass
class Side:
    operator: object
    user: object


@pytest.fixture
def campaign(db):
    return segur_campaign()


@pytest.fixture
def alpha(campaign):
    operator = OperatorFactory(eligible=True, legal_name="Alpha Santé")
    record_counts(operator, campaign)
    return Side(operator, operator_user(operator, "alpha-user"))


@pytest.fixture
def beta(campaign):
    operator = OperatorFactory(eligible=True, legal_name="Beta Santé")
    record_counts(operator, campaign)
    return Side(operator, operator_user(operator, "beta-user"))


@pytest.fixture
def instructor(db):
    return agent("instructeur-portail")


@pytest.fixture
def supervisor(db):
    return validator("valideur-portail")


def proofs(**overrides):
    files = {
        kind: SimpleUploadedFile(f"{kind}.pdf", PDF, "application/pdf")
        for kind in operator_services.required_enrolment_proof_kinds(vat_liable=True)
    }
    files.update(overrides)
    return files


ENROLMENT = {
    "legal_name": "Omega Messagerie Santé",
    "siren": "732829320",
    "siret": "73282932000074",
    "kind": "developer",
    "provider_siren": "",
    "provider_referencing_number": "",
    "vat_liable": "True",
    "referencing_number": "REF-OMEGA-1",
    "iban": "FR7630006000011234567890189",
    "bic": "AGRIFRPP",
    "contact_email": "contact@omega.example",
}


@pytest.fixture
def representative(db):
    return operator_services.account_create(
        username="omega-rep", email="rep@omega.example", password="Un-mot-de-passe-s0lide"
    )


@pytest.fixture
def enrolment(representative):
    return operator_services.enrolment_submit(user=representative, documents=proofs(), **ENROLMENT)
