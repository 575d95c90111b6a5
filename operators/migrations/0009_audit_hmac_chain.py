"""Enrolments' journal sealed with the audit key (HMAC-SHA256, key id on each event) and TRUNCATE
refused on PostgreSQL."""

from functools import partial

from django.db import migrations, models

from common.audit_migrations import reseal, truncate_guard_sql

RESEAL = {
    "app_label": "operators",
    "parent_model": "Enrolment",
    "event_model": "EnrolmentEvent",
    "parent": "enrolment",
    "trigger": "operators_enrolmentevent_append_only",
}
GUARD, UNGUARD = truncate_guard_sql(
    table="operators_enrolmentevent", function="operators_enrolmentevent_append_only"
)


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('operators', '0008_api_tokens'),
    ]

    operations = [
        migrations.AddField(
            model_name='enrolmentevent',
            name='key_id',
            field=models.CharField(blank=True, max_length=32, verbose_name="clé d'audit"),
        ),
        migrations.RunPython(partial(reseal, **RESEAL, to_hmac=True), partial(reseal, **RESEAL, to_hmac=False)),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
