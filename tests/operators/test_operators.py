import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from operators.enums import OperatorKind
from operators.models import MailDomain, Operator

pytestmark = pytest.mark.django_db


def developer(**kwargs):
    defaults = {"legal_name": "Alpha", "siren": "123456782", "kind": OperatorKind.DEVELOPER}
    return Operator.objects.create(**{**defaults, **kwargs})


@pytest.mark.parametrize("siren", ["123456789", "12345678", "abcdefghi", "1234567820"])
def test_invalid_siren_is_refused(siren):
    operator = Operator(legal_name="X", siren=siren, kind=OperatorKind.DEVELOPER)
    with pytest.raises(ValidationError) as error:
        operator.full_clean()
    assert "siren" in error.value.message_dict


def test_valid_siren_and_siret_are_accepted():
    Operator(legal_name="X", siren="732829320", siret="73282932000074", kind=OperatorKind.DEVELOPER).full_clean()


def test_invalid_siret_is_refused():
    operator = Operator(legal_name="X", siren="732829320", siret="73282932000075", kind=OperatorKind.DEVELOPER)
    with pytest.raises(ValidationError) as error:
        operator.full_clean()
    assert "siret" in error.value.message_dict


def test_la_poste_siret_follows_its_own_rule():
    ok = Operator(legal_name="La Poste", siren="356000000", siret="35600000049837", kind=OperatorKind.DEVELOPER)
    ok.full_clean()
    bad = Operator(legal_name="La Poste", siren="356000000", siret="35600000049838", kind=OperatorKind.DEVELOPER)
    with pytest.raises(ValidationError):
        bad.full_clean()


def test_buyer_needs_a_provider():
    buyer = Operator(legal_name="B", siren="987654324", kind=OperatorKind.BUYER)
    with pytest.raises(ValidationError) as error:
        buyer.full_clean()
    assert "provider" in error.value.message_dict


def test_provider_must_be_a_developer():
    dev = developer()
    buyer = Operator.objects.create(legal_name="B", siren="987654324", kind=OperatorKind.BUYER, provider=dev)
    second = Operator(legal_name="C", siren="555123454", kind=OperatorKind.BUYER, provider=buyer)
    with pytest.raises(ValidationError) as error:
        second.full_clean()
    assert "développeur" in error.value.message_dict["provider"][0]


def test_buyer_cannot_be_its_own_provider():
    dev = developer()
    buyer = Operator.objects.create(legal_name="B", siren="987654324", kind=OperatorKind.BUYER, provider=dev)
    buyer.provider = buyer
    with pytest.raises(ValidationError):
        buyer.full_clean()


def test_database_refuses_a_developer_with_a_provider():
    dev = developer()
    with pytest.raises(IntegrityError):
        Operator.objects.create(legal_name="D", siren="555123454", kind=OperatorKind.DEVELOPER, provider=dev)


def test_mail_domains_are_unique_whatever_the_case():
    dev = developer()
    MailDomain.objects.create(operator=dev, name="alpha.mssante.fr")
    with pytest.raises(IntegrityError):
        MailDomain.objects.create(operator=dev, name="ALPHA.mssante.fr")


def test_mail_domain_is_lower_cased_on_clean():
    domain = MailDomain(operator=developer(), name=" Alpha.MSSante.fr ")
    domain.full_clean()
    assert domain.name == "alpha.mssante.fr"
