# SQL here is built from model table names and module constants only; values are always parameters.
# ruff: noqa: S608
"""Set-based reads over a snapshot: counts per type, per operator, unknown domains, moved addresses."""

from contextlib import contextmanager

from django.db import connection

from funding.annuaire.format import FUNDED_TYPES
from funding.annuaire.loader import table_name
from funding.models import AnnuaireDomainCount, AnnuaireMailbox, CountedDomain, CountedMailbox
from operators.models import MailDomain

MOVED = "funding_annuaire_moved"


def _valid_domain_condition(alias):
    """SQL: domain row `alias` is valid on the day passed twice as parameters."""
    return (
        f"({alias}.valid_from IS NULL OR {alias}.valid_from <= %s) "
        f"AND ({alias}.valid_until IS NULL OR {alias}.valid_until >= %s)"
    )


def type_counts(snapshot_id):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT mailbox_type, SUM(count) FROM {table_name(AnnuaireDomainCount)} WHERE snapshot_id = %s "
            "GROUP BY mailbox_type",
            [snapshot_id],
        )
        return {kind: int(count) for kind, count in cursor.fetchall()}


def unknown_domains(snapshot_id, day):
    """{domain: mailboxes} for the domains no operator held on `day`, largest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.domain, SUM(c.count) AS n FROM {table_name(AnnuaireDomainCount)} c WHERE c.snapshot_id = %s "
            f"AND NOT EXISTS (SELECT 1 FROM {table_name(MailDomain)} d WHERE LOWER(d.name) = c.domain "
            f"AND {_valid_domain_condition('d')}) "
            "GROUP BY c.domain ORDER BY n DESC, c.domain",
            [snapshot_id, day, day],
        )
        return {domain: int(count) for domain, count in cursor.fetchall()}


def operator_type_counts(snapshot_id, day, *, operator_id=None):
    """{(operator_id, type): mailboxes} through the domains each operator held on `day`."""
    params = [day, day, snapshot_id]
    only = ""
    if operator_id is not None:
        only = " AND d.operator_id = %s"
        params.append(operator_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.operator_id, c.mailbox_type, SUM(c.count) FROM {table_name(AnnuaireDomainCount)} c "
            f"JOIN {table_name(MailDomain)} d ON LOWER(d.name) = c.domain AND {_valid_domain_condition('d')} "
            f"WHERE c.snapshot_id = %s{only} GROUP BY d.operator_id, c.mailbox_type",
            params,
        )
        return {(operator, kind): int(count) for operator, kind, count in cursor.fetchall()}


def moved_addresses(*, day, campaign_id, excluded_operator_ids):
    """Addresses counted for one of `excluded_operator_ids` in the campaign whose domain another
    operator holds on `day`: the only ones that could be counted twice. Usually none.

    The domains that changed hands are found in the small per-domain summary (CountedDomain);
    only their addresses are then read, through an index.
    """
    ids = sorted({int(pk) for pk in excluded_operator_ids})
    if not ids:
        return []
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT cd.operator_id, cd.domain FROM {table_name(CountedDomain)} cd "
            f"JOIN {table_name(MailDomain)} h ON LOWER(h.name) = cd.domain AND {_valid_domain_condition('h')} "
            f"WHERE cd.campaign_id = %s AND cd.operator_id IN ({placeholders}) AND h.operator_id <> cd.operator_id",
            [day, day, campaign_id, *ids],
        )
        moved_domains = cursor.fetchall()
    addresses = []
    for operator_id, domain in moved_domains:
        addresses += CountedMailbox.objects.filter(
            campaign_id=campaign_id, operator_id=operator_id, domain=domain
        ).values_list("address", flat=True)
    return addresses


@contextmanager
def _excluding(cursor, addresses):
    """SQL condition on `m.address` leaving out `addresses` (through a small temporary table)."""
    if not addresses:
        yield ""
        return
    cursor.execute(f"DROP TABLE IF EXISTS {MOVED}")
    cursor.execute(f"CREATE TEMPORARY TABLE {MOVED} (address varchar(254) PRIMARY KEY)")
    if connection.vendor == "postgresql":
        with cursor.copy(f"COPY {MOVED} (address) FROM STDIN") as copy:
            copy.write("".join(f"{address}\n" for address in sorted(set(addresses))))  # validated addresses
        cursor.execute(f"ANALYZE {MOVED}")
    else:
        cursor.executemany(f"INSERT INTO {MOVED} (address) VALUES (%s)", [(a,) for a in sorted(set(addresses))])
    try:
        yield f" AND NOT EXISTS (SELECT 1 FROM {MOVED} x WHERE x.address = m.address)"
    finally:
        cursor.execute(f"DROP TABLE {MOVED}")


def _mailboxes_of(operator_only):
    """FROM/WHERE over one snapshot's mailboxes joined to the domains held on a day."""
    return (
        f"FROM {table_name(AnnuaireMailbox)} m "
        f"JOIN {table_name(MailDomain)} d ON LOWER(d.name) = m.domain AND {_valid_domain_condition('d')} "
        f"WHERE m.snapshot_id = %s{' AND d.operator_id = %s' if operator_only else ''}"
    )


def _moved_present(cursor, *, snapshot_id, day, moved, operator_id=None):
    """{(holder, type): n} of the moved addresses (also in the temporary table) present in the snapshot.

    The snapshot is scanned once, filtered on the few moved domains and probed against the small
    table; only the rows found are then attributed to their operator (materialised first, so the
    planner never joins the million rows to the domains before filtering them).
    """
    domains = sorted({address.rpartition("@")[2] for address in moved})
    placeholders = ", ".join(["%s"] * len(domains))
    only = " AND d.operator_id = %s" if operator_id is not None else ""
    funded = ", ".join(f"'{kind}'" for kind in FUNDED_TYPES)
    cursor.execute(
        f"WITH present AS MATERIALIZED (SELECT m.mailbox_type, m.domain FROM {table_name(AnnuaireMailbox)} m "
        f"WHERE m.snapshot_id = %s AND m.mailbox_type IN ({funded}) AND m.domain IN ({placeholders}) "
        f"AND m.address IN (SELECT x.address FROM {MOVED} x)) "
        f"SELECT d.operator_id, p.mailbox_type, COUNT(*) FROM present p "
        f"JOIN {table_name(MailDomain)} d ON LOWER(d.name) = p.domain AND {_valid_domain_condition('d')}{only} "
        "GROUP BY d.operator_id, p.mailbox_type",
        [snapshot_id, *domains, day, day] + ([operator_id] if operator_id is not None else []),
    )
    return {(holder, kind): count for holder, kind, count in cursor.fetchall()}


def _less_moved(*, snapshot_id, day, moved, operator_id=None):
    """Per-domain aggregate counts (funded types) less the moved addresses, by (operator, type)."""
    counts = {
        key: count
        for key, count in operator_type_counts(snapshot_id, day, operator_id=operator_id).items()
        if key[1] in FUNDED_TYPES
    }
    if moved:
        with connection.cursor() as cursor, _excluding(cursor, moved):
            present = _moved_present(cursor, snapshot_id=snapshot_id, day=day, moved=moved, operator_id=operator_id)
            for key, count in present.items():
                counts[key] -= count
    return {key: count for key, count in counts.items() if count}


def operator_counts_excluding(*, snapshot_id, day, operator_id, campaign_id, excluded_operator_ids):
    """{type: mailboxes} (funded types) of one operator, less the addresses already counted for the excluded ones."""
    moved = moved_addresses(day=day, campaign_id=campaign_id, excluded_operator_ids=excluded_operator_ids)
    counts = _less_moved(snapshot_id=snapshot_id, day=day, moved=moved, operator_id=operator_id)
    return {kind: count for (_, kind), count in counts.items()}


def forget_counted_mailboxes(*, campaign_id, operator_id):
    """Drop the addresses counted for (campaign, operator) and their per-domain summary, together."""
    CountedMailbox.objects.filter(campaign_id=campaign_id, operator_id=operator_id).delete()
    CountedDomain.objects.filter(campaign_id=campaign_id, operator_id=operator_id).delete()


def record_counted_mailboxes(*, snapshot_id, day, operator_id, campaign_id, excluded_operator_ids):
    """Replace the addresses counted for (campaign, operator) by this snapshot's, less the excluded ones."""
    forget_counted_mailboxes(campaign_id=campaign_id, operator_id=operator_id)
    moved = moved_addresses(day=day, campaign_id=campaign_id, excluded_operator_ids=excluded_operator_ids)
    funded = ", ".join(f"'{kind}'" for kind in FUNDED_TYPES)
    with connection.cursor() as cursor, _excluding(cursor, moved) as exclusion:
        cursor.execute(
            f"INSERT INTO {table_name(CountedMailbox)} (campaign_id, operator_id, address, mailbox_type, domain) "
            f"SELECT %s, %s, m.address, m.mailbox_type, m.domain {_mailboxes_of(True)} "
            f"AND m.mailbox_type IN ({funded}){exclusion}",
            [campaign_id, operator_id, day, day, snapshot_id, operator_id],
        )
        recorded = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {table_name(CountedDomain)} (campaign_id, operator_id, domain, count) "
            f"SELECT campaign_id, operator_id, domain, COUNT(*) FROM {table_name(CountedMailbox)} "
            "WHERE campaign_id = %s AND operator_id = %s GROUP BY campaign_id, operator_id, domain",
            [campaign_id, operator_id],
        )
    return recorded


def funded_counts_by_operator(*, snapshot_id, day, campaign_id, funded_operator_ids):
    """{(operator_id, type): mailboxes} of every operator on `day`, funded types only.

    The set-based form of what a claim freezes: each operator's addresses less those already
    counted for another operator of `funded_operator_ids` in the campaign (transferred parks):
    the per-domain aggregate, less the moved addresses found in the snapshot.
    """
    moved = moved_addresses(day=day, campaign_id=campaign_id, excluded_operator_ids=funded_operator_ids)
    return _less_moved(snapshot_id=snapshot_id, day=day, moved=moved)
