"""Claims' journal sealed with the audit key (HMAC-SHA256, key id on each event), TRUNCATE refused on
PostgreSQL, and the append-only checkpoints of every chain head (`anchor_audit`)."""

from functools import partial

from django.db import migrations, models

from common.audit_migrations import reseal, truncate_guard_sql

RESEAL = {
    "app_label": "claims",
    "parent_model": "Claim",
    "event_model": "ClaimEvent",
    "parent": "claim",
    "trigger": "claims_claimevent_append_only",
}
CHECKPOINT_TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION claims_auditcheckpoint_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'claims_auditcheckpoint is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER claims_auditcheckpoint_append_only
    BEFORE UPDATE OR DELETE ON claims_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION claims_auditcheckpoint_append_only();
"""
CHECKPOINT_DROP_SQL = """
DROP TRIGGER IF EXISTS claims_auditcheckpoint_append_only ON claims_auditcheckpoint;
DROP FUNCTION IF EXISTS claims_auditcheckpoint_append_only() CASCADE;
"""
GUARDS = [
    truncate_guard_sql(table="claims_claimevent", function="claims_event_append_only"),
    truncate_guard_sql(table="claims_auditcheckpoint", function="claims_auditcheckpoint_append_only"),
]


def add_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHECKPOINT_TRIGGER_SQL, params=None)
        for create, _drop in GUARDS:
            schema_editor.execute(create, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for _create, drop in GUARDS:
            schema_editor.execute(drop, params=None)
        schema_editor.execute(CHECKPOINT_DROP_SQL, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('claims', '0010_recovery_observations'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditCheckpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(verbose_name='créé le')),
                ('document', models.TextField(verbose_name='contenu signé')),
                ('key_id', models.CharField(max_length=32, verbose_name="clé d'audit")),
                ('signature', models.CharField(max_length=64, verbose_name='signature (HMAC-SHA256)')),
                ('tsa_url', models.CharField(blank=True, max_length=500, verbose_name="autorité d'horodatage")),
                ('tsa_response', models.BinaryField(blank=True, null=True, verbose_name="jeton d'horodatage (RFC 3161, DER)")),
                ('tsa_time', models.DateTimeField(blank=True, null=True, verbose_name='horodaté le')),
            ],
            options={
                'verbose_name': 'point de contrôle du journal',
                'verbose_name_plural': 'points de contrôle du journal',
                'get_latest_by': 'pk',
            },
        ),
        migrations.AddField(
            model_name='claimevent',
            name='key_id',
            field=models.CharField(blank=True, max_length=32, verbose_name="clé d'audit"),
        ),
        migrations.RunPython(partial(reseal, **RESEAL, to_hmac=True), partial(reseal, **RESEAL, to_hmac=False)),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
