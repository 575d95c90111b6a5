"""Append-only audit log enforced by PostgreSQL (the agents' groups, once created here, are declared
in common.roles and synced after every migrate)."""

from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION claims_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'claims_claimevent is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER claims_claimevent_append_only
    BEFORE UPDATE OR DELETE ON claims_claimevent
    FOR EACH ROW EXECUTE FUNCTION claims_event_append_only();
"""
DROP_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS claims_claimevent_append_only ON claims_claimevent;
DROP FUNCTION IF EXISTS claims_event_append_only();
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
        ("claims", "0002_initial"),
        ("operators", "0001_initial"),
        ("funding", "0002_seed_schedules_and_campaign"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        migrations.RunPython(add_trigger, drop_trigger),
    ]
