"""Sealing the webhook secrets at rest keeps every hook able to sign, forwards and back."""

import pytest

from operators import secret_box

pytestmark = [pytest.mark.migrations, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BEFORE = [("operators", "0004_enrolment_audit_trigger_and_permissions")]
AFTER = [("operators", "0005_webhook_sealed_secret")]


def test_existing_secrets_are_sealed_and_unsealed_back(migrate_to):
    old_apps = migrate_to(BEFORE)
    Operator = old_apps.get_model("operators", "Operator")
    Webhook = old_apps.get_model("operators", "Webhook")
    operator = Operator.objects.create(legal_name="Alpha", siren="123456782", kind="developer")
    Webhook.objects.create(operator=operator, url="https://hooks.example.fr/a", secret="whsec_abc")

    new_apps = migrate_to(AFTER)
    sealed = new_apps.get_model("operators", "Webhook").objects.get().sealed_secret
    assert "whsec_abc" not in sealed
    assert secret_box.unseal(sealed) == "whsec_abc"  # what the running code reads

    old_apps = migrate_to(BEFORE)
    assert old_apps.get_model("operators", "Webhook").objects.get().secret == "whsec_abc"


def test_enrolments_linked_to_a_provider_declare_its_siren_and_number(migrate_to):
    before = [("operators", "0005_webhook_sealed_secret")]
    old_apps = migrate_to(before)
    Operator = old_apps.get_model("operators", "Operator")
    Referencing = old_apps.get_model("operators", "Referencing")
    Enrolment = old_apps.get_model("operators", "Enrolment")
    User = old_apps.get_model("auth", "User")
    provider = Operator.objects.create(legal_name="Alpha", siren="123456782", kind="developer")
    Referencing.objects.create(operator=provider, number="REF-ALPHA", status="valid", granted_on="2023-01-01")
    common = {"siren": "987654324", "referencing_number": "", "iban": "FR76", "bic": "AGRIFRPP"}
    buyer = Enrolment.objects.create(
        user=User.objects.create(username="b"), legal_name="B", kind="buyer", provider=provider, **common
    )
    developer = Enrolment.objects.create(
        user=User.objects.create(username="d"), legal_name="D", kind="developer", **common
    )

    new_apps = migrate_to([("operators", "0006_contract_task_provider_declaration_vat")])
    Enrolment = new_apps.get_model("operators", "Enrolment")
    assert Enrolment.objects.filter(pk=buyer.pk).values_list("provider_siren", "provider_referencing_number").get() == (
        "123456782",
        "REF-ALPHA",
    )
    declared = Enrolment.objects.filter(pk=developer.pk).values_list("provider_siren", "vat_liable").get()
    assert declared == ("", True)
    assert new_apps.get_model("operators", "Operator").objects.get(pk=provider.pk).vat_liable is True
