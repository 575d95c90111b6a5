"""Enrolment: a buyer names its provider by SIREN and referencing number (linked at validation), and every
entity declares whether it is liable to VAT, the VAT proof following the declaration."""

import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from common.exceptions import InvalidInput, NotAllowed
from operators import services
from operators.enums import EnrolmentDocumentKind, EnrolmentState, OperatorKind, ReferencingStatus
from operators.models import Enrolment, Operator
from tests.factories import GOOD, PDF, PROOF_KINDS, OperatorFactory, ReferencingFactory, agent, token_client, validator
from tests.portal.utils import text

pytestmark = pytest.mark.django_db

NOT_LIABLE_KINDS = services.required_enrolment_proof_kinds(vat_liable=False)


def files(kinds):
    return {kind: SimpleUploadedFile(f"{kind}.pdf", PDF, "application/pdf") for kind in kinds}


@pytest.fixture
def provider():
    operator = OperatorFactory(legal_name="Alpha Développeur", kind=OperatorKind.DEVELOPER)
    ReferencingFactory(operator=operator, number="REF-ALPHA", granted_on=date(2023, 1, 1))
    return operator


def buyer_enrolment(user, **declared):
    fields = {
        **GOOD,
        "kind": OperatorKind.BUYER,
        "provider_siren": "123456782",
        "provider_referencing_number": "REF-ALPHA",
        **declared,
    }
    return services.enrolment_submit(user=user, documents=files(PROOF_KINDS), **fields)


# --- Provider declaration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "field", "message"),
    [
        ({"provider_siren": ""}, "provider_siren", "Un opérateur acheteur doit indiquer le SIREN"),
        ({"provider_siren": "123456789"}, "provider_siren", "SIREN invalide"),
        ({"provider_siren": "732829320"}, "provider_siren", "Un opérateur ne peut pas être son propre prestataire."),
        ({"provider_referencing_number": ""}, "provider_referencing_number", "numéro de référencement ANS"),
    ],
    ids=["no-siren", "bad-siren", "own-siren", "no-number"],
)
def test_a_buyer_must_declare_a_valid_provider_siren_and_number(representative, declared, field, message):
    with pytest.raises(InvalidInput) as error:
        buyer_enrolment(representative, **declared)
    assert message in error.value.errors[field][0]
    assert not Enrolment.objects.exists()


def test_a_developer_declares_no_provider(representative):
    with pytest.raises(InvalidInput) as error:
        services.enrolment_submit(
            user=representative,
            documents=files(PROOF_KINDS),
            **{**GOOD, "provider_siren": "123456782", "provider_referencing_number": "REF-ALPHA"},
        )
    assert set(error.value.errors) == {"provider_siren", "provider_referencing_number"}


def test_validation_links_the_developer_holding_the_declared_valid_number(representative, provider):
    provider.siren = "123456782"
    provider.save()
    enrolment = services.enrolment_validate(enrolment=buyer_enrolment(representative), actor=agent())
    assert enrolment.state == EnrolmentState.VALIDATED
    assert enrolment.provider == provider
    assert enrolment.operator.provider == provider


@pytest.mark.parametrize("mismatch", ["other-number", "suspended", "unknown-siren"])
def test_validation_is_refused_until_the_agent_links_the_provider(representative, provider, mismatch):
    provider.siren = "123456782" if mismatch != "unknown-siren" else "555123454"
    provider.save()
    if mismatch == "suspended":
        provider.referencings.update(status=ReferencingStatus.SUSPENDED)
    number = "REF-OTHER" if mismatch == "other-number" else "REF-ALPHA"
    enrolment = buyer_enrolment(representative, provider_referencing_number=number)
    instructor = agent()
    with pytest.raises(InvalidInput) as error:
        services.enrolment_validate(enrolment=enrolment, actor=instructor)
    assert error.value.message == services.PROVIDER_NOT_LINKED.format(siren="123456782", number=number)
    assert Enrolment.objects.get(pk=enrolment.pk).state == EnrolmentState.PENDING
    assert not Operator.objects.filter(siren="732829320").exists()

    services.enrolment_link_provider(enrolment=enrolment, actor=instructor, provider=provider)
    enrolment = services.enrolment_validate(enrolment=enrolment, actor=instructor)
    assert enrolment.operator.provider == provider


def test_only_an_instructor_links_a_developer_as_provider_of_a_buyer(representative, provider):
    enrolment = buyer_enrolment(representative)
    with pytest.raises(NotAllowed):
        services.enrolment_link_provider(enrolment=enrolment, actor=validator(), provider=provider)
    buyer = OperatorFactory(kind=OperatorKind.BUYER, provider=provider)
    with pytest.raises(InvalidInput):
        services.enrolment_link_provider(enrolment=enrolment, actor=agent(), provider=buyer)
    assert Enrolment.objects.get(pk=enrolment.pk).provider is None


def test_a_changed_provider_declaration_drops_the_agents_link(representative, provider):
    instructor = agent()
    enrolment = buyer_enrolment(representative)
    services.enrolment_link_provider(enrolment=enrolment, actor=instructor, provider=provider)
    services.enrolment_request_changes(enrolment=enrolment, actor=instructor, message="Prestataire ?")
    enrolment = services.enrolment_resubmit(
        enrolment=Enrolment.objects.get(pk=enrolment.pk), actor=representative, provider_referencing_number="REF-NEW"
    )
    assert enrolment.provider is None
    assert enrolment.provider_referencing_number == "REF-NEW"


def test_admin_shows_the_declaration_and_lets_the_instructor_link_the_provider(client, representative, provider):
    enrolment = buyer_enrolment(representative)
    client.force_login(agent())
    url = reverse("admin:operators_enrolment_change", args=[enrolment.pk])
    page = text(client.get(url))
    assert "123456782" in page and "REF-ALPHA" in page
    assert "rattachez le prestataire ci-dessous avant de valider" in page
    assert 'name="provider"' in page and 'name="_save"' in page  # the autocomplete select and its button
    # The page's own hidden fields (the read-only inlines' management forms) go back with the choice.
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    response = client.post(url, {**hidden, "provider": provider.pk}, follow=True)
    assert f"Opérateur prestataire rattaché : {provider}." in text(response)
    assert Enrolment.objects.get(pk=enrolment.pk).provider == provider
    client.post(reverse("admin:operators_enrolment_decision", args=[enrolment.pk, "validate"]))
    assert Enrolment.objects.get(pk=enrolment.pk).operator.provider == provider


def test_admin_refusal_names_what_to_do(client, representative):
    enrolment = buyer_enrolment(representative)
    client.force_login(agent())
    developer = services.enrolment_submit(
        user=services.account_create(username="dev", email="dev@example.fr", password="Un-mot-de-passe-s0lide"),
        documents=files(PROOF_KINDS),
        **{**GOOD, "siren": "555123454", "siret": "", "referencing_number": "REF-DEV"},
    )
    page = text(client.get(reverse("admin:operators_enrolment_change", args=[developer.pk])))
    assert 'name="_save"' not in page and "Sans objet : opérateur développeur." in page
    response = client.post(reverse("admin:operators_enrolment_decision", args=[enrolment.pk, "validate"]), follow=True)
    assert "rattachez l'opérateur prestataire" in text(response)


# --- VAT declaration ---------------------------------------------------------------------------------


def test_an_entity_not_liable_to_vat_files_a_declaration_instead_of_the_certificate(representative):
    enrolment = services.enrolment_submit(
        user=representative, documents=files(NOT_LIABLE_KINDS), **{**GOOD, "vat_liable": False}
    )
    assert enrolment.vat_liable is False
    operator = services.enrolment_validate(enrolment=enrolment, actor=agent()).operator
    assert operator.vat_liable is False


def test_the_vat_proof_must_match_the_declaration(representative):
    with pytest.raises(InvalidInput) as error:
        services.enrolment_submit(user=representative, documents=files(PROOF_KINDS), **{**GOOD, "vat_liable": False})
    assert error.value.errors == {
        "vat_certificate": ["Pièce sans objet : l'entité est déclarée non assujettie à la TVA."],
        "vat_non_liability": ["Pièce manquante : Déclaration de non-assujettissement à la TVA."],
    }


def test_the_vat_declaration_is_an_explicit_choice(representative):
    with pytest.raises(InvalidInput) as error:
        services.enrolment_submit(user=representative, documents=files(PROOF_KINDS), **{**GOOD, "vat_liable": ""})
    assert error.value.errors == {"vat_liable": [services.VAT_DECLARATION_REQUIRED]}


def test_switching_the_vat_declaration_on_resubmit_needs_the_other_proof(representative):
    enrolment = services.enrolment_submit(user=representative, documents=files(PROOF_KINDS), **GOOD)
    services.enrolment_request_changes(enrolment=enrolment, actor=agent(), message="Hôpital public ?")
    enrolment = Enrolment.objects.get(pk=enrolment.pk)
    with pytest.raises(InvalidInput) as error:
        services.enrolment_resubmit(enrolment=enrolment, actor=representative, vat_liable=False)
    assert "vat_non_liability" in error.value.errors
    enrolment = services.enrolment_resubmit(
        enrolment=enrolment,
        actor=representative,
        vat_liable=False,
        documents=files([EnrolmentDocumentKind.VAT_NON_LIABILITY]),
    )
    assert enrolment.vat_liable is False


def test_api_lists_the_required_proofs_following_the_declaration(representative):
    data = {**GOOD, "vat_liable": "false", **files(NOT_LIABLE_KINDS)}
    response = token_client(representative).post("/api/v1/enrolments", data, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["vat_liable"] is False
    assert body["required_documents"] == [str(kind) for kind in NOT_LIABLE_KINDS]
    assert body["provider"] is None


def test_api_without_vat_declaration_is_a_400(representative):
    data = {key: value for key, value in GOOD.items() if key != "vat_liable"}
    response = token_client(representative).post(
        "/api/v1/enrolments", {**data, **files(PROOF_KINDS)}, format="multipart"
    )
    assert response.status_code == 400
    assert "vat_liable" in response.json()["errors"]


def test_api_buyer_declares_its_provider(representative):
    data = {
        **GOOD,
        "vat_liable": "true",
        "kind": "buyer",
        "provider_siren": "123456782",
        "provider_referencing_number": "REF-ALPHA",
        **files(PROOF_KINDS),
    }
    response = token_client(representative).post("/api/v1/enrolments", data, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["provider_siren"], body["provider_referencing_number"]) == ("123456782", "REF-ALPHA")


def test_portal_enrolment_of_a_hospital_not_liable_to_vat(client, representative):
    client.force_login(representative)
    data = {**GOOD, "vat_liable": "False", **files(NOT_LIABLE_KINDS)}
    response = client.post(reverse("portal:enrolment_new"), data)
    assert response.status_code == 302, text(response)
    page = text(client.get(reverse("portal:enrolment")))
    assert "Non assujettie à la TVA" in page
    assert "Déclaration de non-assujettissement à la TVA" in page
    assert "Attestation d'assujettissement à la TVA" not in page


def test_admin_lists_the_required_proofs_and_agents_edit_the_operators_vat_status(client, representative):
    enrolment = services.enrolment_submit(
        user=representative, documents=files(NOT_LIABLE_KINDS), **{**GOOD, "vat_liable": False}
    )
    client.force_login(agent())
    page = text(client.get(reverse("admin:operators_enrolment_change", args=[enrolment.pk])))
    assert "Déclaration de non-assujettissement à la TVA : fournie" in page
    operator = OperatorFactory()
    page = text(client.get(reverse("admin:operators_operator_change", args=[operator.pk])))
    assert 'name="vat_liable"' in page
