"""Webhook signing secrets sealed at rest (operators.secret_box): existing ones are sealed in place.

The sealing is written out here rather than imported, so this migration keeps doing what it
did whatever the module becomes.
"""

import base64

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import migrations, models

PREFIX = "fernet:"
PURPOSE = b"segur/webhook-signing-secret/v1"


def _box():
    keys = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    return MultiFernet(
        [
            Fernet(base64.urlsafe_b64encode(HKDF(hashes.SHA256(), 32, None, PURPOSE).derive(key.encode())))
            for key in keys
        ]
    )


def seal_existing(apps, schema_editor):
    Webhook = apps.get_model("operators", "Webhook")
    box = _box()
    for webhook in Webhook.objects.all().only("pk", "secret"):
        sealed = PREFIX + box.encrypt(webhook.secret.encode()).decode()
        Webhook.objects.filter(pk=webhook.pk).update(sealed_secret=sealed)


def unseal_existing(apps, schema_editor):
    Webhook = apps.get_model("operators", "Webhook")
    box = _box()
    for webhook in Webhook.objects.all().only("pk", "sealed_secret"):
        secret = box.decrypt(webhook.sealed_secret[len(PREFIX) :].encode()).decode()
        Webhook.objects.filter(pk=webhook.pk).update(secret=secret)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0004_enrolment_audit_trigger_and_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhook",
            name="sealed_secret",
            field=models.CharField(default="", editable=False, max_length=255, verbose_name="secret de signature (chiffré)"),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="webhook",
            name="secret",
            field=models.CharField(blank=True, default="", editable=False, max_length=64, verbose_name="secret de signature"),
        ),
        migrations.RunPython(seal_existing, unseal_existing),
        migrations.RemoveField(model_name="webhook", name="secret"),
    ]
