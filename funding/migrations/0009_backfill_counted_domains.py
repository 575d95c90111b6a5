"""Counted addresses written before their domain and per-domain summary existed get them now.

The transfer checks (`moved_addresses`, `counted_elsewhere`) find the parks that changed hands
through `CountedDomain`; rows counted before 0005/0006 had no domain and no summary, and would
be invisible to them. Idempotent: only rows without a domain and operators without a summary
are touched.
"""

from django.db import migrations

SUMMARY = (
    "INSERT INTO funding_counteddomain (campaign_id, operator_id, domain, count) "
    "SELECT m.campaign_id, m.operator_id, m.domain, COUNT(*) FROM funding_countedmailbox m "
    "WHERE NOT EXISTS (SELECT 1 FROM funding_counteddomain d "
    "WHERE d.campaign_id = m.campaign_id AND d.operator_id = m.operator_id) "
    "GROUP BY m.campaign_id, m.operator_id, m.domain"
)


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    after_at = (
        "split_part(address, '@', 2)"
        if connection.vendor == "postgresql"
        else "substr(address, instr(address, '@') + 1)"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE funding_countedmailbox SET domain = {after_at} WHERE domain = ''")  # noqa: S608
        cursor.execute(SUMMARY)


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0008_annuaire_mailbox_natural_key"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
