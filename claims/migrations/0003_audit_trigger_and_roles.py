"""Append-only audit log enforced by PostgreSQL, and the agents' groups with their permissions."""

from django.contrib.auth.management import create_permissions
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


VIEW_ALL = [
    ("operators", m) for m in ["operator", "maildomain", "contractv2", "referencing", "membership"]
] + [("funding", m) for m in ["fundingschedule", "campaign", "mailboxcount"]] + [
    ("claims", m) for m in ["claim", "document", "claimevent", "deadlineextension", "payment"]
]
ROLE_PERMISSIONS = {
    "instructeur": [("view", app, model) for app, model in VIEW_ALL]
    + [("change", "claims", "claim"), ("add", "funding", "mailboxcount"), ("change", "funding", "mailboxcount")]
    + [("change", "operators", "operator"), ("add", "operators", "maildomain"), ("change", "operators", "maildomain")]
    + [("add", "operators", "contractv2"), ("change", "operators", "contractv2")]
    + [("add", "operators", "referencing"), ("change", "operators", "referencing")],
    "valideur": [("view", app, model) for app, model in VIEW_ALL]
    + [("change", "claims", "claim"), ("add", "claims", "deadlineextension"), ("add", "claims", "payment")],
}


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for action, app_label, model in perms:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model}")
            )


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
        migrations.RunPython(create_groups, migrations.RunPython.noop),
    ]
