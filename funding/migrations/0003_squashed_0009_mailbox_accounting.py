"""Mailbox accounting (Annuaire Santé snapshots, counted mailboxes and domains, growth checks) as it
stood after 0009: the seven migrations 0003–0009 iterated on this one feature, squashed by hand.

New databases run this migration; databases that applied 0003–0009 keep them (`replaces`), and
one stopped in between finishes with the old files, which are left in place. The two data
migrations (0008's copy of the mailboxes into the rebuilt table, 0009's backfill of counted
domains) are elided: on a database that runs this migration the tables they read are created
here, empty. The agents' permissions once granted by 0004 are declared in common.roles.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import funding.models


class Migration(migrations.Migration):
    replaces = [
        ("funding", "0003_mailbox_accounting"),
        ("funding", "0004_mailbox_accounting_permissions"),
        ("funding", "0005_countedmailbox_domain"),
        ("funding", "0006_counted_domains"),
        ("funding", "0007_counted_mailbox_lean"),
        ("funding", "0008_annuaire_mailbox_natural_key"),
        ("funding", "0009_backfill_counted_domains"),
    ]

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("funding", "0002_seed_schedules_and_campaign"),
        ("operators", "0002_maildomain_validity"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="reference_date",
            field=models.DateField(
                blank=True,
                help_text=(
                    "Extraction de l'Annuaire servant de point de comparaison pour détecter les croissances "
                    "anormales. Vide : la dernière extraction antérieure à la clôture."
                ),
                null=True,
                verbose_name="date de référence",
            ),
        ),
        migrations.AddField(
            model_name="mailboxcount",
            name="proof",
            field=models.FileField(
                blank=True,
                default="",
                max_length=255,
                upload_to=funding.models.count_proof_storage_name,
                verbose_name="pièce justificative",
            ),
        ),
        migrations.AddField(
            model_name="mailboxcount",
            name="proof_sha256",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="empreinte SHA-256 de la pièce"),
        ),
        migrations.CreateModel(
            name="AnnuaireSnapshot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("as_of", models.DateField(verbose_name="date de l'extraction")),
                ("file_name", models.CharField(max_length=255, verbose_name="nom du fichier")),
                ("sha256", models.CharField(max_length=64, unique=True, verbose_name="empreinte SHA-256")),
                ("rows", models.PositiveIntegerField(default=0, verbose_name="lignes lues")),
                ("mailbox_total", models.PositiveIntegerField(default=0, verbose_name="BAL distinctes")),
                ("by_type", models.JSONField(default=dict, verbose_name="BAL par type")),
                ("error_count", models.PositiveIntegerField(default=0, verbose_name="lignes en erreur")),
                ("errors", models.JSONField(default=list, verbose_name="erreurs (les premières)")),
                (
                    "imported_by_label",
                    models.CharField(blank=True, max_length=150, verbose_name="importé par (libellé)"),
                ),
                ("imported_at", models.DateTimeField(auto_now_add=True, verbose_name="importé le")),
                (
                    "imported_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="importé par",
                    ),
                ),
            ],
            options={
                "verbose_name": "extraction de l'Annuaire Santé",
                "verbose_name_plural": "extractions de l'Annuaire Santé",
                "ordering": ["-as_of", "-imported_at"],
                "indexes": [models.Index(fields=["as_of", "-imported_at"], name="snapshot_as_of_idx")],
            },
        ),
        # Keyed by (snapshot, line) since 0008 (the table rebuilt there is created so here).
        migrations.CreateModel(
            name="AnnuaireMailbox",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "snapshot_id", "line", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("line", models.PositiveIntegerField(verbose_name="ligne du fichier")),
                ("address", models.CharField(max_length=254, verbose_name="adresse BAL")),
                ("mailbox_type", models.CharField(max_length=3, verbose_name="type de BAL")),
                ("domain", models.CharField(max_length=253, verbose_name="domaine")),
                (
                    "snapshot",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="mailboxes",
                        to="funding.annuairesnapshot",
                        verbose_name="extraction",
                    ),
                ),
            ],
            options={
                "verbose_name": "BAL publiée",
                "verbose_name_plural": "BAL publiées",
            },
        ),
        migrations.CreateModel(
            name="AnnuaireDomainCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("domain", models.CharField(max_length=253, verbose_name="domaine")),
                ("mailbox_type", models.CharField(max_length=3, verbose_name="type de BAL")),
                ("count", models.PositiveIntegerField(verbose_name="nombre de BAL")),
                (
                    "snapshot",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="domain_counts",
                        to="funding.annuairesnapshot",
                        verbose_name="extraction",
                    ),
                ),
            ],
            options={
                "verbose_name": "BAL publiées par domaine",
                "verbose_name_plural": "BAL publiées par domaine",
                "constraints": [
                    models.UniqueConstraint(fields=("snapshot", "domain", "mailbox_type"), name="domaincount_unique")
                ],
            },
        ),
        # Lean since 0007: no foreign-key constraints, no per-address uniqueness (bulk imports).
        migrations.CreateModel(
            name="CountedMailbox",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("address", models.CharField(max_length=254, verbose_name="adresse BAL")),
                ("mailbox_type", models.CharField(max_length=3, verbose_name="type de BAL")),
                (
                    "campaign",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="counted_mailboxes",
                        to="funding.campaign",
                        verbose_name="campagne",
                    ),
                ),
                (
                    "operator",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="counted_mailboxes",
                        to="operators.operator",
                        verbose_name="opérateur",
                    ),
                ),
                ("domain", models.CharField(default="", max_length=253, verbose_name="domaine")),
            ],
            options={
                "verbose_name": "BAL comptée dans une demande",
                "verbose_name_plural": "BAL comptées dans une demande",
                "indexes": [models.Index(fields=["campaign", "operator", "domain"], name="countedmailbox_domain_idx")],
            },
        ),
        migrations.CreateModel(
            name="CountedDomain",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("domain", models.CharField(max_length=253, verbose_name="domaine")),
                ("count", models.PositiveIntegerField(verbose_name="BAL comptées")),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="funding.campaign",
                        verbose_name="campagne",
                    ),
                ),
                (
                    "operator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="operators.operator",
                        verbose_name="opérateur",
                    ),
                ),
            ],
            options={
                "verbose_name": "domaine compté dans une demande",
                "verbose_name_plural": "domaines comptés dans une demande",
                "constraints": [
                    models.UniqueConstraint(fields=("campaign", "operator", "domain"), name="counteddomain_unique")
                ],
            },
        ),
        migrations.CreateModel(
            name="GrowthCheck",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reference_count", models.PositiveIntegerField(verbose_name="BAL à la référence")),
                ("closure_count", models.PositiveIntegerField(verbose_name="BAL à la clôture")),
                (
                    "growth",
                    models.DecimalField(
                        blank=True,
                        decimal_places=4,
                        help_text="Vide : infinie.",
                        max_digits=12,
                        null=True,
                        verbose_name="croissance de l'opérateur",
                    ),
                ),
                (
                    "overall_growth",
                    models.DecimalField(decimal_places=4, max_digits=12, verbose_name="croissance de l'ensemble"),
                ),
                ("factor", models.DecimalField(decimal_places=2, max_digits=8, verbose_name="facteur de seuil")),
                ("min_increase", models.PositiveIntegerField(verbose_name="hausse minimale")),
                ("flagged", models.BooleanField(default=False, verbose_name="anomalie")),
                ("computed_at", models.DateTimeField(auto_now_add=True, verbose_name="calculé le")),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="funding.campaign",
                        verbose_name="campagne",
                    ),
                ),
                (
                    "closure_snapshot",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="funding.annuairesnapshot",
                        verbose_name="extraction de clôture",
                    ),
                ),
                (
                    "operator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="growth_checks",
                        to="operators.operator",
                        verbose_name="opérateur",
                    ),
                ),
                (
                    "reference_snapshot",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="funding.annuairesnapshot",
                        verbose_name="extraction de référence",
                    ),
                ),
            ],
            options={
                "verbose_name": "contrôle de croissance",
                "verbose_name_plural": "contrôles de croissance",
                "ordering": ["-flagged", "operator"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("campaign", "operator"), name="growthcheck_one_per_campaign_operator"
                    )
                ],
            },
        ),
    ]
