"""Sealing the webhook secrets at rest keeps every hook able to sign, forwards and back."""

import pytest

from operators import secret_box

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

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
