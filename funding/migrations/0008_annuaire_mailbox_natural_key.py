"""AnnuaireMailbox keyed by (snapshot, line) instead of a surrogate id.

Django cannot change an existing table's primary key into a composite one, so the table is
rebuilt: the new one is created under a temporary model name, the rows are copied in one
INSERT … SELECT (same SQL on PostgreSQL and SQLite), the old table is dropped and the new
model takes the old name. Snapshots keep all their mailboxes.
"""

import django.db.models.deletion
from django.db import migrations, models

COPY_FORWARD = (
    "INSERT INTO funding_newannuairemailbox (snapshot_id, line, address, mailbox_type, domain) "
    "SELECT snapshot_id, line, address, mailbox_type, domain FROM funding_annuairemailbox"
)
COPY_BACKWARD = (
    "INSERT INTO funding_annuairemailbox (snapshot_id, line, address, mailbox_type, domain) "
    "SELECT snapshot_id, line, address, mailbox_type, domain FROM funding_newannuairemailbox"
)


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0007_counted_mailbox_lean"),
    ]

    operations = [
        migrations.CreateModel(
            name="NewAnnuaireMailbox",
            fields=[
                ("pk", models.CompositePrimaryKey("snapshot_id", "line", blank=True, editable=False, primary_key=True, serialize=False)),
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
                        related_name="+",
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
        migrations.RunSQL(COPY_FORWARD, COPY_BACKWARD, elidable=True),
        migrations.DeleteModel(name="AnnuaireMailbox"),
        migrations.RenameModel(old_name="NewAnnuaireMailbox", new_name="AnnuaireMailbox"),
        migrations.AlterField(
            model_name="annuairemailbox",
            name="snapshot",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="mailboxes",
                to="funding.annuairesnapshot",
                verbose_name="extraction",
            ),
        ),
    ]
