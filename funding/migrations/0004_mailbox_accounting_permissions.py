"""The agents' permissions on the mailbox-accounting models (read-only: imports run as commands)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = ["annuairesnapshot", "growthcheck"]
ROLE_PERMISSIONS = {"instructeur": VIEW, "valideur": VIEW}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("funding")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, models in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for model in models:
            group.permissions.add(Permission.objects.get(content_type__app_label="funding", codename=f"view_{model}"))


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0003_mailbox_accounting"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
