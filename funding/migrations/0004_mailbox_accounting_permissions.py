"""Once the agents' permissions on the mailbox-accounting models; now declared in common.roles
(ROLE_PERMISSIONS) and applied after every migrate (post_migrate → sync_roles). Kept, empty, so
that the migration graph and existing databases' history stay as they were."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0003_mailbox_accounting"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = []
