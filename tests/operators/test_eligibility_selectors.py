"""Referenced provider and contract v2 on a given day: what the claim guards will say."""

from datetime import date

import pytest

from operators.enums import ContractStatus, OperatorKind, ReferencingStatus
from operators.models import Operator
from operators.selectors import contract_v2_problems, provider_problems, referencing_valid_on
from tests.factories import ContractFactory, OperatorFactory, ReferencingFactory

pytestmark = pytest.mark.django_db

DAY = date(2023, 6, 1)


def test_referencing_counts_from_its_grant_day_and_only_while_valid():
    operator = OperatorFactory()
    ReferencingFactory(operator=operator, granted_on=DAY)
    assert referencing_valid_on(operator=operator, day=DAY)
    assert not referencing_valid_on(operator=operator, day=date(2023, 5, 31))
    operator.referencings.update(status=ReferencingStatus.SUSPENDED)
    assert not referencing_valid_on(operator=operator, day=DAY)


def test_a_developer_has_no_provider_problem():
    assert provider_problems(operator=OperatorFactory(), day=DAY) == []


def test_a_buyer_whose_provider_is_referenced_on_the_day_has_no_problem():
    provider = OperatorFactory(legal_name="Alpha")
    ReferencingFactory(operator=provider, granted_on=DAY)
    buyer = OperatorFactory(kind=OperatorKind.BUYER, provider=provider)
    assert provider_problems(operator=buyer, day=DAY) == []


def test_a_buyer_whose_provider_has_no_valid_number_on_the_day_is_told_why():
    provider = OperatorFactory(legal_name="Alpha")
    ReferencingFactory(operator=provider, granted_on=date(2023, 7, 1))
    buyer = OperatorFactory(kind=OperatorKind.BUYER, provider=provider)
    assert provider_problems(operator=buyer, day=DAY) == [
        "L'opérateur prestataire Alpha n'a pas de numéro de référencement ANS valide au 01/06/2023 : "
        "un opérateur acheteur doit acheter le connecteur à un opérateur développeur référencé Ségur."
    ]


def test_a_buyer_without_provider_or_with_a_buyer_as_provider_is_told_why():
    # Neither state passes Operator.clean() or the database constraint; unsaved rows show the messages.
    lonely = Operator(legal_name="Beta", siren="987654324", kind=OperatorKind.BUYER)
    assert "n'a pas d'opérateur prestataire" in provider_problems(operator=lonely, day=DAY)[0]
    other_buyer = Operator(legal_name="Gamma", siren="555123454", kind=OperatorKind.BUYER)
    chained = Operator(legal_name="Beta", siren="987654324", kind=OperatorKind.BUYER, provider=other_buyer)
    assert provider_problems(operator=chained, day=DAY) == [
        "L'opérateur prestataire Gamma n'est pas un opérateur développeur : un opérateur acheteur doit acheter "
        "le connecteur à un opérateur développeur référencé Ségur."
    ]


def test_contract_countersigned_on_or_before_the_day_and_not_terminated_is_in_force():
    operator = OperatorFactory()
    ContractFactory(operator=operator, signed_on=date(2023, 5, 1), countersigned_on=DAY)
    assert contract_v2_problems(operator=operator, day=DAY) == []


def test_no_contract_says_none_was_uploaded():
    assert contract_v2_problems(operator=OperatorFactory(), day=DAY) == [
        "Aucun contrat opérateur MSSanté v2 signé n'a été déposé : déposez le contrat signé "
        "(pièce « Contrat opérateur MSSanté v2 ») ; l'ANS le contresignera."
    ]


def test_a_signed_contract_awaits_ans_countersignature():
    operator = OperatorFactory()
    ContractFactory(operator=operator, status=ContractStatus.SIGNED_BY_OPERATOR, signed_on=date(2023, 5, 2))
    assert contract_v2_problems(operator=operator, day=DAY) == [
        "Le contrat opérateur MSSanté v2 signé par l'opérateur le 02/05/2023 attend la contre-signature de l'ANS."
    ]


def test_a_contract_countersigned_after_the_day_does_not_count_yet():
    operator = OperatorFactory()
    ContractFactory(operator=operator, signed_on=date(2023, 5, 2), countersigned_on=date(2023, 6, 2))
    assert contract_v2_problems(operator=operator, day=DAY) == [
        "Le contrat opérateur MSSanté v2 n'est contresigné par l'ANS que depuis le 02/06/2023, après le 01/06/2023."
    ]


def test_a_terminated_contract_says_when():
    operator = OperatorFactory()
    ContractFactory(
        operator=operator,
        status=ContractStatus.TERMINATED,
        signed_on=date(2023, 1, 2),
        countersigned_on=date(2023, 1, 10),
        terminated_on=date(2023, 5, 31),
    )
    assert contract_v2_problems(operator=operator, day=DAY) == [
        "Le contrat opérateur MSSanté v2 a été résilié le 31/05/2023 : déposez un nouveau contrat signé, "
        "qui devra être contresigné par l'ANS."
    ]
    # Before its termination it was in force.
    assert contract_v2_problems(operator=operator, day=date(2023, 5, 30)) == []


def test_a_new_signed_contract_after_a_terminated_one_is_what_is_missing():
    operator = OperatorFactory()
    ContractFactory(
        operator=operator,
        status=ContractStatus.TERMINATED,
        signed_on=date(2023, 1, 2),
        countersigned_on=date(2023, 1, 10),
        terminated_on=date(2023, 3, 1),
    )
    ContractFactory(operator=operator, status=ContractStatus.SIGNED_BY_OPERATOR, signed_on=date(2023, 4, 3))
    assert "attend la contre-signature" in contract_v2_problems(operator=operator, day=DAY)[0]
