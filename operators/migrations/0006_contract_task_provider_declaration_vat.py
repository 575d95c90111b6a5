"""Contract v2 as a task (who recorded the countersignature, the signed copy), a buyer's provider
declared by SIREN and referencing number, and the VAT declaration of enrolments and operators.

Enrolments filed before declare their provider through the linked one: its SIREN and valid number
are copied into the new declaration fields, so that a re-submission keeps them.
"""

import django.db.models.deletion
import operators.validators
from django.conf import settings
from django.db import migrations, models


def declare_linked_providers(apps, schema_editor):
    Enrolment = apps.get_model("operators", "Enrolment")
    Referencing = apps.get_model("operators", "Referencing")
    for enrolment in Enrolment.objects.filter(provider__isnull=False).select_related("provider"):
        valid = Referencing.objects.filter(operator=enrolment.provider, status="valid").first()
        enrolment.provider_siren = enrolment.provider.siren
        enrolment.provider_referencing_number = valid.number if valid else ""
        enrolment.save(update_fields=["provider_siren", "provider_referencing_number"])


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0005_webhook_sealed_secret"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="contractv2",
            name="countersigned_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="contre-signature enregistrée le"),
        ),
        migrations.AddField(
            model_name="contractv2",
            name="countersigned_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="contre-signature enregistrée par",
            ),
        ),
        migrations.AddField(
            model_name="contractv2",
            name="signed_document",
            field=models.CharField(blank=True, db_default="", max_length=255, verbose_name="pièce signée déposée"),
        ),
        migrations.AddField(
            model_name="contractv2",
            name="signed_document_sha256",
            field=models.CharField(
                blank=True, db_default="", max_length=64, verbose_name="empreinte SHA-256 de la pièce signée"
            ),
        ),
        migrations.AddField(
            model_name="enrolment",
            name="provider_referencing_number",
            field=models.CharField(
                blank=True,
                db_default="",
                max_length=64,
                verbose_name="numéro de référencement de l'opérateur prestataire",
            ),
        ),
        migrations.AddField(
            model_name="enrolment",
            name="provider_siren",
            field=models.CharField(
                blank=True,
                db_default="",
                max_length=9,
                validators=[operators.validators.validate_siren],
                verbose_name="SIREN de l'opérateur prestataire",
            ),
        ),
        migrations.AddField(
            model_name="enrolment",
            name="vat_liable",
            field=models.BooleanField(db_default=True, default=True, verbose_name="assujettie à la TVA"),
        ),
        migrations.AddField(
            model_name="operator",
            name="vat_liable",
            field=models.BooleanField(
                db_default=True,
                default=True,
                help_text="Déclaré à l'enrôlement (attestation ou déclaration de non-assujettissement) ; un opérateur non assujetti est payé hors TVA.",
                verbose_name="assujetti à la TVA",
            ),
        ),
        migrations.AlterField(
            model_name="enrolment",
            name="provider",
            field=models.ForeignKey(
                blank=True,
                help_text="Rattaché automatiquement à la validation quand un opérateur développeur porte le SIREN et le numéro de référencement déclarés ; sinon, choisissez-le avant de valider.",
                limit_choices_to={"kind": "developer"},
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="operators.operator",
                verbose_name="opérateur prestataire rattaché",
            ),
        ),
        migrations.AlterField(
            model_name="enrolmentdocument",
            name="kind",
            field=models.CharField(
                choices=[
                    ("referencing_certificate", "Attestation de référencement ANS"),
                    ("representative_id", "Pièce d'identité du représentant légal"),
                    ("bank_details", "Relevé d'identité bancaire (RIB)"),
                    ("vat_certificate", "Attestation d'assujettissement à la TVA"),
                    ("vat_non_liability", "Déclaration de non-assujettissement à la TVA"),
                    ("contract_v2", "Contrat opérateur MSSanté v2 signé par l'opérateur"),
                ],
                max_length=32,
                verbose_name="type de pièce",
            ),
        ),
        migrations.AddIndex(
            model_name="contractv2",
            index=models.Index(fields=["status", "signed_on"], name="contractv2_status_idx"),
        ),
        migrations.RunPython(declare_linked_providers, migrations.RunPython.noop),
    ]
