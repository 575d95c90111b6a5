"""The Annuaire Santé MSSanté extraction, along its seams:

- `format`: the 31 columns, the mailbox types, what a valid address is, the file name's date, the header;
- `parser`: opening an extraction (plain or zip, hashed while read) and parsing its rows (polars for the
  clean lines, Python for the others; the tuning knobs `CHUNK_BYTES`, `MAX_LINE_BYTES`, `BLOOM_BYTES`,
  `MAX_ERRORS` live there);
- `loader`: loading the rows into an uncommitted snapshot (`COPY` on PostgreSQL, batched inserts elsewhere);
- `queries`: set-based reads over a snapshot (counts per type and per operator, unknown domains, moves).

Callers use the names below through `funding.annuaire`.
"""

from funding.annuaire.format import (
    COLUMN_COUNT,
    COLUMNS,
    FUNDED_TYPES,
    HEADER,
    KNOWN_TYPES,
    ExtractionError,
    as_of_from_name,
    check_header,
    generated_at_from_name,
    generation_warning,
    type_note,
)
from funding.annuaire.loader import load_rows
from funding.annuaire.parser import (
    Extraction,
    HashingReader,
    ParseReport,
    inspect_file,
    open_extraction,
    parse_batches,
    read_header,
    text_key,
)
from funding.annuaire.queries import (
    forget_counted_mailboxes,
    funded_counts_by_operator,
    moved_addresses,
    operator_counts_excluding,
    operator_type_counts,
    record_counted_mailboxes,
    type_counts,
    unknown_domains,
)

__all__ = [
    "COLUMNS",
    "COLUMN_COUNT",
    "FUNDED_TYPES",
    "HEADER",
    "KNOWN_TYPES",
    "Extraction",
    "ExtractionError",
    "HashingReader",
    "ParseReport",
    "as_of_from_name",
    "check_header",
    "forget_counted_mailboxes",
    "funded_counts_by_operator",
    "generated_at_from_name",
    "generation_warning",
    "inspect_file",
    "load_rows",
    "moved_addresses",
    "open_extraction",
    "operator_counts_excluding",
    "operator_type_counts",
    "parse_batches",
    "read_header",
    "record_counted_mailboxes",
    "text_key",
    "type_counts",
    "type_note",
    "unknown_domains",
]
