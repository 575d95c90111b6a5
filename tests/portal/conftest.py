"""Two operators with a user each, a campaign open for filing, an instructor and a validator."""

from dataclasses import dataclass

import pytest

from operators import services as operator_services
from tests.factories import (
    ENROLMENT,
    OperatorFactory,
    agent,
    operator_user,
    proofs,
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


@pytest.fixture
def enrolment(representative):
    return operator_services.enrolment_submit(user=representative, documents=proofs(), **ENROLMENT)
