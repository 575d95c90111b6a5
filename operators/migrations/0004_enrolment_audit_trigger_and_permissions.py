"""Enrolment history append-only in PostgreSQL, and the agents' permissions on enrolments."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION operators_enrolmentevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'operators_enrolmentevent is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER operators_enrolmentevent_append_only
    BEFORE UPDATE OR DELETE ON operators_enrolmentevent
    FOR EACH ROW EXECUTE FUNCTION operators_enrolmentevent_append_only();
"""
DROP_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS operators_enrolmentevent_append_only ON operators_enrolmentevent;
DROP FUNCTION IF EXISTS operators_enrolmentevent_append_only();
"""

VIEW = ["enrolment", "enrolmentdocument", "enrolmentevent", "invitation", "webhook", "webhookdelivery"]
ROLE_PERMISSIONS = {
    # Instructors decide enrolments through the admin actions (services), hence "change".
    "instructeur": [("view", m) for m in VIEW] + [("change", "enrolment")],
    "valideur": [("view", m) for m in VIEW],
}


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER_SQL, params=None)


def grant(apps, schema_editor):
    app_config = apps.get_app_config("operators")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for action, model in perms:
            group.permissions.add(
                Permission.objects.get(content_type__app_label="operators", codename=f"{action}_{model}")
            )


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0003_enrolment_invitations_webhooks"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        migrations.RunPython(add_trigger, drop_trigger),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
