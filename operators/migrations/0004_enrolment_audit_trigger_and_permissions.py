"""Enrolment history append-only in PostgreSQL."""

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

# The agents' permissions once granted here are declared in common.roles (ROLE_PERMISSIONS) and
# applied after every migrate (post_migrate → sync_roles).


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0003_enrolment_invitations_webhooks"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        migrations.RunPython(add_trigger, drop_trigger),
    ]
