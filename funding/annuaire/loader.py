# SQL here is built from model table names and module constants only; values are always parameters.
# ruff: noqa: S608
"""Loading parsed rows into a snapshot that is not committed yet: `COPY` (psycopg 3) on PostgreSQL,
batched inserts elsewhere; set-based SQL then folds duplicate addresses (the first line wins)."""

from django.db import connection

from funding.annuaire.format import ROW_COLUMNS
from funding.models import AnnuaireDomainCount, AnnuaireMailbox

HELD = "funding_annuaire_held"


def table_name(model):
    return connection.ops.quote_name(model._meta.db_table)


def load_rows(batches, report, *, snapshot_id):
    """Bulk-load parsed rows into the (uncommitted) snapshot, resolve the held rows, store the aggregate.

    Must run inside the caller's transaction: until it commits, the snapshot's rows are its own
    staging area, invisible to every other session, and a failure leaves nothing behind.
    Returns how many repeated lines were folded away.
    """
    table = table_name(AnnuaireMailbox)
    columns = "(snapshot_id, line, address, mailbox_type, domain)"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            import polars as pl

            cursor.execute("SET LOCAL work_mem = '64MB'")
            with cursor.copy(f"COPY {table} {columns} FROM STDIN") as copy:
                for batch in batches:
                    # COPY text written as is: the parser only lets through [a-z0-9.@-…] addresses
                    # (no tab, newline or backslash) and known types.
                    copy.write(
                        batch.select(pl.lit(int(snapshot_id)), *ROW_COLUMNS).write_csv(
                            separator="\t", include_header=False, quote_style="never"
                        )
                    )
        else:
            for batch in batches:
                cursor.executemany(
                    f"INSERT INTO {table} {columns} VALUES (%s, %s, %s, %s, %s)",
                    [(snapshot_id, *row) for row in batch.iter_rows()],
                )
        if connection.vendor == "postgresql":
            # Statistics that include the rows just loaded (ANALYZE samples our own uncommitted rows and
            # its result commits with them): without them the planner takes this snapshot for a handful
            # of rows and probes it row by row below and in every later count.
            cursor.execute(f"ANALYZE {table}")
        kept = _resolve_held(cursor, snapshot_id, report.held)
        cursor.executemany(
            f"INSERT INTO {table} {columns} VALUES (%s, %s, %s, %s, %s)", [(snapshot_id, *row) for row in kept]
        )
        counts = report.domain_counts
        for _, _, kind, domain in kept:
            per_domain = counts.setdefault(kind, {})
            per_domain[domain] = per_domain.get(domain, 0) + 1
        cursor.executemany(
            f"INSERT INTO {table_name(AnnuaireDomainCount)} (snapshot_id, domain, mailbox_type, count) "
            "VALUES (%s, %s, %s, %s)",
            [
                (snapshot_id, domain, kind, count)
                for kind, by_domain in counts.items()
                for domain, count in by_domain.items()
            ],
        )
    return len(report.held) - len(kept)


def _resolve_held(cursor, snapshot_id, held):
    """The held rows to load: each address's first line, unless the address is already loaded.

    The held rows are few: they go to a temporary table, and one join on their addresses tells
    which are already in the snapshot (read once, never sorted or grouped as a whole).
    """
    if not held:
        return []
    first = {}
    for row in sorted(held):  # in line order: the first line of an address wins
        first.setdefault(row[1], row)
    cursor.execute(f"DROP TABLE IF EXISTS {HELD}")
    cursor.execute(f"CREATE TEMPORARY TABLE {HELD} (address varchar(254) PRIMARY KEY)")
    cursor.executemany(f"INSERT INTO {HELD} (address) VALUES (%s)", [(row[1],) for row in first.values()])
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {HELD}")
    cursor.execute(
        f"SELECT DISTINCT m.address FROM {table_name(AnnuaireMailbox)} m JOIN {HELD} x ON x.address = m.address "
        "WHERE m.snapshot_id = %s",
        [snapshot_id],
    )
    loaded = {address for (address,) in cursor.fetchall()}
    cursor.execute(f"DROP TABLE {HELD}")
    return [row for row in first.values() if row[1] not in loaded]
