"""Rebuilding the mailbox table under its natural key keeps every snapshot's mailboxes."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("funding", "0007_counted_mailbox_lean")]
AFTER = [("funding", "0008_annuaire_mailbox_natural_key")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_mailboxes_survive_the_move_to_the_snapshot_line_key():
    old_apps = migrate(BEFORE)
    try:
        Snapshot = old_apps.get_model("funding", "AnnuaireSnapshot")
        OldMailbox = old_apps.get_model("funding", "AnnuaireMailbox")
        snapshot = Snapshot.objects.create(as_of="2023-06-30", file_name="x.txt", sha256="c" * 64)
        OldMailbox.objects.bulk_create(
            [
                OldMailbox(snapshot_id=snapshot.pk, line=2, address="a@x.fr", mailbox_type="PER", domain="x.fr"),
                OldMailbox(snapshot_id=snapshot.pk, line=5, address="b@y.fr", mailbox_type="ORG", domain="y.fr"),
            ]
        )
        new_apps = migrate(AFTER)
        Mailbox = new_apps.get_model("funding", "AnnuaireMailbox")
        assert sorted(Mailbox.objects.values_list("snapshot_id", "line", "address", "mailbox_type", "domain")) == [
            (snapshot.pk, 2, "a@x.fr", "PER", "x.fr"),
            (snapshot.pk, 5, "b@y.fr", "ORG", "y.fr"),
        ]
        # Going back restores the surrogate-key table with the same rows.
        old_apps = migrate(BEFORE)
        OldMailbox = old_apps.get_model("funding", "AnnuaireMailbox")
        assert sorted(OldMailbox.objects.values_list("line", "address")) == [(2, "a@x.fr"), (5, "b@y.fr")]
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        # The migration renamed the model's content type back and forth: drop the stale cache.
        ContentType.objects.clear_cache()
