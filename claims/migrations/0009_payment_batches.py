"""Payment batches (SEPA orders), their lines (payment attempts), bank return files; a claim may have
several payments of which one settled. Batch history append-only on PostgreSQL."""

from decimal import Decimal

import django.db.models.deletion
import django.db.models.expressions
from django.conf import settings
from django.db import migrations, models

import claims.models

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION claims_batch_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'claims_paymentbatchevent is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER claims_paymentbatchevent_append_only
    BEFORE UPDATE OR DELETE ON claims_paymentbatchevent
    FOR EACH ROW EXECUTE FUNCTION claims_batch_event_append_only();
"""
DROP_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS claims_paymentbatchevent_append_only ON claims_paymentbatchevent;
DROP FUNCTION IF EXISTS claims_batch_event_append_only();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER_SQL, params=None)


# The agents' permissions once granted here are declared in common.roles (ROLE_PERMISSIONS) and
# applied after every migrate (post_migrate → sync_roles).


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0007_recovery_amounts_in_terms_paid"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PaymentBatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveIntegerField(editable=False, unique=True, verbose_name="numéro du lot")),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("generated", "Généré"),
                            ("sent", "Transmis à la banque"),
                            ("settled", "Réglé"),
                            ("partly_returned", "Réglé avec des virements retournés"),
                            ("cancelled", "Annulé"),
                        ],
                        default="generated",
                        editable=False,
                        max_length=24,
                        verbose_name="état",
                    ),
                ),
                (
                    "message_id",
                    models.CharField(
                        editable=False, max_length=35, unique=True, verbose_name="identifiant du message SEPA (MsgId)"
                    ),
                ),
                ("execution_date", models.DateField(editable=False, verbose_name="date d'exécution demandée")),
                (
                    "file",
                    models.FileField(
                        editable=False,
                        max_length=255,
                        upload_to=claims.models.batch_storage_name,
                        verbose_name="fichier pain.001",
                    ),
                ),
                ("file_name", models.CharField(editable=False, max_length=120, verbose_name="nom du fichier")),
                ("sha256", models.CharField(editable=False, max_length=64, verbose_name="empreinte SHA-256")),
                (
                    "total",
                    models.DecimalField(decimal_places=2, editable=False, max_digits=14, verbose_name="total viré"),
                ),
                ("created_at", models.DateTimeField(editable=False, verbose_name="créé le")),
                ("cancel_reason", models.TextField(blank=True, editable=False, verbose_name="motif d'annulation")),
                ("audit_head", models.CharField(blank=True, editable=False, max_length=64)),
            ],
            options={
                "verbose_name": "lot de paiement",
                "verbose_name_plural": "lots de paiement",
                "ordering": ["-number"],
            },
        ),
        migrations.CreateModel(
            name="PaymentBatchEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveIntegerField(verbose_name="rang")),
                ("at", models.DateTimeField(verbose_name="date")),
                ("actor_label", models.CharField(max_length=150, verbose_name="auteur (libellé)")),
                ("action", models.CharField(max_length=32, verbose_name="action")),
                ("comment", models.TextField(blank=True, verbose_name="commentaire")),
                ("prev_hash", models.CharField(max_length=64, verbose_name="empreinte précédente")),
                ("hash", models.CharField(max_length=64, verbose_name="empreinte")),
                (
                    "from_state",
                    models.CharField(
                        choices=[
                            ("generated", "Généré"),
                            ("sent", "Transmis à la banque"),
                            ("settled", "Réglé"),
                            ("partly_returned", "Réglé avec des virements retournés"),
                            ("cancelled", "Annulé"),
                        ],
                        max_length=24,
                        verbose_name="état avant",
                    ),
                ),
                (
                    "to_state",
                    models.CharField(
                        choices=[
                            ("generated", "Généré"),
                            ("sent", "Transmis à la banque"),
                            ("settled", "Réglé"),
                            ("partly_returned", "Réglé avec des virements retournés"),
                            ("cancelled", "Annulé"),
                        ],
                        max_length=24,
                        verbose_name="état après",
                    ),
                ),
            ],
            options={
                "verbose_name": "événement du lot",
                "verbose_name_plural": "historique du lot",
                "ordering": ["batch", "seq"],
            },
        ),
        migrations.AddField(
            model_name="payment",
            name="return_reason",
            field=models.CharField(blank=True, editable=False, max_length=200, verbose_name="motif du retour"),
        ),
        migrations.AddField(
            model_name="payment",
            name="returned_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="retourné le"),
        ),
        migrations.AlterField(
            model_name="payment",
            name="claim",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payments",
                to="claims.claim",
                verbose_name="demande",
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="recorded_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                to=settings.AUTH_USER_MODEL,
                verbose_name="enregistré par",
            ),
        ),
        migrations.CreateModel(
            name="BankReturn",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sha256", models.CharField(max_length=64, unique=True, verbose_name="empreinte SHA-256")),
                ("kind", models.CharField(max_length=32, verbose_name="type de message")),
                ("message_id", models.CharField(blank=True, max_length=35, verbose_name="identifiant du message")),
                ("file_name", models.CharField(max_length=120, verbose_name="nom du fichier")),
                ("imported_at", models.DateTimeField(verbose_name="importé le")),
                ("report", models.JSONField(default=dict, verbose_name="compte rendu")),
                (
                    "imported_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="importé par",
                    ),
                ),
            ],
            options={
                "verbose_name": "retour bancaire importé",
                "verbose_name_plural": "retours bancaires importés",
                "ordering": ["-imported_at"],
            },
        ),
        migrations.CreateModel(
            name="PaymentAttempt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("ordered", "Ordre de paiement émis"),
                            ("paid", "Payé"),
                            ("returned", "Rejeté ou retourné par la banque"),
                            ("cancelled", "Annulé avec le lot"),
                        ],
                        default="ordered",
                        editable=False,
                        max_length=16,
                        verbose_name="état",
                    ),
                ),
                (
                    "end_to_end_id",
                    models.CharField(
                        max_length=35, unique=True, verbose_name="identifiant de bout en bout (EndToEndId)"
                    ),
                ),
                ("creditor_name", models.CharField(max_length=140, verbose_name="bénéficiaire")),
                ("iban", models.CharField(max_length=34, verbose_name="IBAN payé")),
                ("bic", models.CharField(max_length=11, verbose_name="BIC")),
                ("amount_excl_vat", models.DecimalField(decimal_places=2, max_digits=12, verbose_name="montant HT")),
                ("vat", models.DecimalField(decimal_places=2, max_digits=12, verbose_name="TVA")),
                (
                    "amount_to_pay",
                    models.DecimalField(decimal_places=2, max_digits=12, verbose_name="montant à verser"),
                ),
                (
                    "offset",
                    models.DecimalField(
                        decimal_places=2, default=Decimal("0.00"), max_digits=12, verbose_name="indus compensés"
                    ),
                ),
                ("transfer_amount", models.DecimalField(decimal_places=2, max_digits=12, verbose_name="montant viré")),
                ("resolved_at", models.DateTimeField(blank=True, editable=False, null=True, verbose_name="résolu le")),
                (
                    "return_code",
                    models.CharField(blank=True, editable=False, max_length=4, verbose_name="code motif ISO"),
                ),
                ("return_reason", models.CharField(blank=True, editable=False, max_length=200, verbose_name="motif")),
                (
                    "claim",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payment_attempts",
                        to="claims.claim",
                        verbose_name="demande",
                    ),
                ),
                (
                    "offset_recoveries",
                    models.ManyToManyField(
                        blank=True, related_name="offset_attempts", to="claims.recovery", verbose_name="indus compensés"
                    ),
                ),
            ],
            options={
                "verbose_name": "ligne de lot de paiement",
                "verbose_name_plural": "lignes de lot de paiement",
                "ordering": ["batch", "pk"],
            },
        ),
        migrations.AddField(
            model_name="payment",
            name="attempt",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payment",
                to="claims.paymentattempt",
                verbose_name="ligne de lot",
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("returned_at__isnull", True)),
                fields=("claim",),
                name="payment_one_settled_per_claim",
                violation_error_message="Cette demande a déjà un paiement.",
            ),
        ),
        migrations.AddField(
            model_name="paymentbatch",
            name="created_by",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="créé par",
            ),
        ),
        migrations.AddField(
            model_name="paymentattempt",
            name="batch",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="lines",
                to="claims.paymentbatch",
                verbose_name="lot",
            ),
        ),
        migrations.AddField(
            model_name="paymentbatchevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="auteur",
            ),
        ),
        migrations.AddField(
            model_name="paymentbatchevent",
            name="batch",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="claims.paymentbatch",
                verbose_name="lot",
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentattempt",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state__in", ("ordered", "paid"))),
                fields=("claim",),
                name="attempt_one_live_per_claim",
                violation_error_message="Cette demande figure déjà dans un lot de paiement en cours.",
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentattempt",
            constraint=models.CheckConstraint(
                condition=models.Q(("transfer_amount__gt", 0)), name="attempt_transfer_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentattempt",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("offset__gte", 0),
                    (
                        "transfer_amount",
                        django.db.models.expressions.CombinedExpression(
                            models.F("amount_to_pay"), "-", models.F("offset")
                        ),
                    ),
                ),
                name="attempt_transfer_is_amount_less_offset",
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentbatchevent",
            constraint=models.UniqueConstraint(fields=("batch", "seq"), name="paymentbatchevent_seq_unique"),
        ),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
