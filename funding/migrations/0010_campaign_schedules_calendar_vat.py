"""A schedule per operator kind, an opening date, the closure snapshot, count age and VAT as campaign data.

Existing campaigns keep their schedule for developers too (the published final formula); the
2023 campaign opens on 2022-06-01 (the workshop's "Juin : ouverture de la plateforme de
financement de l'ASP"), others 180 days before their closure. Snapshots get their generation
time from the file name where it carries one.
"""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

NAME_RE = re.compile(r"Extraction_Correspondance_MSSante_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})")


def forwards(apps, schema_editor):
    Campaign = apps.get_model("funding", "Campaign")
    for campaign in Campaign.objects.all():
        campaign.developer_schedule_id = campaign.schedule_id
        if campaign.code == "segur-mss-2023":
            campaign.opening_date = datetime(2022, 6, 1).date()
        else:
            campaign.opening_date = campaign.closure_date - timedelta(days=180)
        campaign.save(update_fields=["developer_schedule", "opening_date"])
    Snapshot = apps.get_model("funding", "AnnuaireSnapshot")
    for snapshot in Snapshot.objects.all():
        match = NAME_RE.search(snapshot.file_name)
        if match:
            try:
                parts = [int(part) for part in match.groups()]
                snapshot.generated_at = datetime(*parts, tzinfo=ZoneInfo("Europe/Paris"))
            except ValueError:
                continue
            snapshot.save(update_fields=["generated_at"])


class Migration(migrations.Migration):
    dependencies = [("funding", "0009_backfill_counted_domains")]

    operations = [
        migrations.AddField(
            model_name="annuairesnapshot",
            name="generated_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="générée le"),
        ),
        migrations.AlterField(
            model_name="campaign",
            name="schedule",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="campaigns",
                to="funding.fundingschedule",
                verbose_name="barème des opérateurs acheteurs",
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="developer_schedule",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="developer_campaigns",
                to="funding.fundingschedule",
                verbose_name="barème des opérateurs développeurs",
                help_text="À fixer avant la première demande : une demande garde le barème appliqué à son dépôt.",
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="opening_date",
            field=models.DateField(
                null=True,
                verbose_name="date d'ouverture",
                help_text="Premier jour où les demandes d'avance peuvent être déposées.",
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="closure_snapshot",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="funding.annuairesnapshot",
                verbose_name="extraction de clôture",
                help_text="Extraction de l'Annuaire qui donne les BAL à la clôture (solde). Vide : la première "
                "extraction générée après la fin du jour de clôture (heure de Paris).",
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="count_max_age_days",
            field=models.PositiveIntegerField(
                default=90,
                verbose_name="ancienneté maximale d'un comptage (jours)",
                help_text="Une avance est calculée sur le dernier comptage de chaque type datant au plus de ce "
                "nombre de jours avant son dépôt.",
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="vat_rate",
            field=models.DecimalField(
                decimal_places=4,
                default=Decimal("0.2000"),
                max_digits=5,
                validators=[
                    django.core.validators.MinValueValidator(Decimal("0")),
                    django.core.validators.MaxValueValidator(Decimal("1")),
                ],
                verbose_name="taux de TVA",
                help_text="Appliqué au montant HT des opérateurs assujettis (0,2000 pour 20 %).",
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="pays_vat",
            field=models.BooleanField(
                default=True,
                verbose_name="verse la TVA",
                help_text="Décoché : l'agence ne verse que le montant HT, quel que soit l'assujettissement de "
                "l'opérateur.",
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="campaign",
            name="developer_schedule",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="developer_campaigns",
                to="funding.fundingschedule",
                verbose_name="barème des opérateurs développeurs",
                help_text="À fixer avant la première demande : une demande garde le barème appliqué à son dépôt.",
            ),
        ),
        migrations.AlterField(
            model_name="campaign",
            name="opening_date",
            field=models.DateField(
                verbose_name="date d'ouverture",
                help_text="Premier jour où les demandes d'avance peuvent être déposées.",
            ),
        ),
        migrations.AddConstraint(
            model_name="campaign",
            constraint=models.CheckConstraint(
                condition=models.Q(("opening_date__lte", models.F("closure_date"))),
                name="campaign_opens_before_closure",
            ),
        ),
    ]
