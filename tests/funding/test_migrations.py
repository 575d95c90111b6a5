"""Rebuilding the mailbox table under its natural key keeps every snapshot's mailboxes."""

import pytest

pytestmark = [pytest.mark.migrations, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BEFORE = [("funding", "0007_counted_mailbox_lean")]
AFTER = [("funding", "0008_annuaire_mailbox_natural_key")]


def test_mailboxes_survive_the_move_to_the_snapshot_line_key(migrate_to):
    old_apps = migrate_to(BEFORE)
    Snapshot = old_apps.get_model("funding", "AnnuaireSnapshot")
    OldMailbox = old_apps.get_model("funding", "AnnuaireMailbox")
    snapshot = Snapshot.objects.create(as_of="2023-06-30", file_name="x.txt", sha256="c" * 64)
    OldMailbox.objects.bulk_create(
        [
            OldMailbox(snapshot_id=snapshot.pk, line=2, address="a@x.fr", mailbox_type="PER", domain="x.fr"),
            OldMailbox(snapshot_id=snapshot.pk, line=5, address="b@y.fr", mailbox_type="ORG", domain="y.fr"),
        ]
    )
    new_apps = migrate_to(AFTER)
    Mailbox = new_apps.get_model("funding", "AnnuaireMailbox")
    assert sorted(Mailbox.objects.values_list("snapshot_id", "line", "address", "mailbox_type", "domain")) == [
        (snapshot.pk, 2, "a@x.fr", "PER", "x.fr"),
        (snapshot.pk, 5, "b@y.fr", "ORG", "y.fr"),
    ]
    # Going back restores the surrogate-key table with the same rows.
    old_apps = migrate_to(BEFORE)
    OldMailbox = old_apps.get_model("funding", "AnnuaireMailbox")
    assert sorted(OldMailbox.objects.values_list("line", "address")) == [(2, "a@x.fr"), (5, "b@y.fr")]


def test_counted_addresses_from_before_the_domain_summary_get_it(migrate_to):
    before = [("funding", "0008_annuaire_mailbox_natural_key")]
    after = [("funding", "0009_backfill_counted_domains")]
    old_apps = migrate_to(before)
    Campaign = old_apps.get_model("funding", "Campaign")
    Operator = old_apps.get_model("operators", "Operator")
    Counted = old_apps.get_model("funding", "CountedMailbox")
    Summary = old_apps.get_model("funding", "CountedDomain")
    campaign = Campaign.objects.get(code="segur-mss-2023")
    old = Operator.objects.create(legal_name="Ancien", siren="123456782", kind="developer")
    recent = Operator.objects.create(legal_name="Récent", siren="987654324", kind="developer")
    for address in ("a@park.fr", "b@park.fr", "c@other.fr"):
        Counted.objects.create(campaign=campaign, operator=old, address=address, mailbox_type="PER", domain="")
    Counted.objects.create(campaign=campaign, operator=recent, address="d@x.fr", mailbox_type="PER", domain="x.fr")
    Summary.objects.create(campaign=campaign, operator=recent, domain="x.fr", count=1)

    new_apps = migrate_to(after)
    Counted = new_apps.get_model("funding", "CountedMailbox")
    Summary = new_apps.get_model("funding", "CountedDomain")
    assert sorted(Counted.objects.filter(operator_id=old.pk).values_list("address", "domain")) == [
        ("a@park.fr", "park.fr"),
        ("b@park.fr", "park.fr"),
        ("c@other.fr", "other.fr"),
    ]
    assert sorted(Summary.objects.values_list("operator_id", "domain", "count")) == sorted(
        [(old.pk, "park.fr", 2), (old.pk, "other.fr", 1), (recent.pk, "x.fr", 1)]
    )
