"""The squash of funding 0003–0009 leaves exactly the state the seven migrations it replaces left."""

from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner

SQUASH = ("funding", "0003_squashed_0009_mailbox_accounting")
LAST_REPLACED = ("funding", "0009_backfill_counted_domains")


def test_the_squash_replaces_0003_to_0009_with_the_same_models():
    replaced = MigrationLoader(None, replace_migrations=False)
    squashed = MigrationLoader(None)  # no database: nothing applied, so the squash is used
    assert SQUASH in squashed.graph.nodes and LAST_REPLACED not in squashed.graph.nodes
    assert (
        squashed.get_migration(*SQUASH).replaces
        == [("funding", name) for app, name in replaced.graph.forwards_plan(LAST_REPLACED) if app == "funding"][2:]
    )
    before, after = replaced.project_state(LAST_REPLACED), squashed.project_state(SQUASH)
    changes = MigrationAutodetector(before, after, NonInteractiveMigrationQuestioner()).changes(graph=replaced.graph)
    assert changes == {}
    funding = sorted(key for key in before.models if key[0] == "funding")
    assert funding == sorted(key for key in after.models if key[0] == "funding")
    assert all(before.models[key] == after.models[key] for key in funding)


def test_only_data_copies_are_elided():
    """What the squash leaves out must be marked elidable: the copy into the rebuilt mailbox table
    and the backfill of counted domains, which find empty tables on a database that runs the squash."""
    replaced = MigrationLoader(None, replace_migrations=False)
    code_operations = [
        (name, operation)
        for name in ("0008_annuaire_mailbox_natural_key", "0009_backfill_counted_domains")
        for operation in replaced.get_migration("funding", name).operations
        if operation.__class__.__name__ in ("RunSQL", "RunPython")
    ]
    assert len(code_operations) == 2 and all(operation.elidable for _name, operation in code_operations)
    squash = MigrationLoader(None).get_migration(*SQUASH)
    assert not any(op.__class__.__name__ in ("RunSQL", "RunPython") for op in squash.operations)
