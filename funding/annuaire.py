# SQL here is built from model table names and module constants only; values are always parameters.
# ruff: noqa: S608
"""Reading the Annuaire Santé MSSanté extraction (format: docs/spec/ANNUAIRE.md) and loading it.

Rows are parsed by one reader shared by both database paths, so PostgreSQL and SQLite store
exactly the same mailboxes: the clean lines column-wise with polars (a million rows in about a
second), every other line by the same rules written line by line in Python, which also word the
errors. Only the load differs: `COPY` (psycopg 3) on PostgreSQL, batched inserts elsewhere, into
the rows of a snapshot that is not committed yet; set-based SQL then folds duplicate addresses
(the first line wins). Memory stays bounded: the file is streamed and only one chunk of lines, a
fixed-size filter of address hashes and at most `MAX_ERRORS` error messages are held.
"""

import hashlib
import io
import re
import zipfile
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from django.db import connection

from funding.calendar import PARIS
from funding.models import AnnuaireDomainCount, AnnuaireMailbox, CountedDomain, CountedMailbox
from operators.models import MailDomain

HEADER = (
    "Type de BAL|Adresse BAL|Type Identifiant PP|Identifiant PP|Identification nationale PP|"
    "Type identifiant structure|Identification Structure|Service de rattachement|Civilité d'exercice|"
    "Nom d'exercice|Prénom d'exercice|Catégorie profession|Libellé de catégorie profession|Code Profession|"
    "Libellé Profession|Code savoir-faire|Libellé savoir-faire|Dématérialisation|Raison Sociale structure BAL|"
    "Enseigne commerciale structure BAL|L2COMPLEMENTLOCALISATION structure BAL|"
    "L3COMPLEMENTDISTRIBUTION structure BAL|L4NUMEROVOIE structure BAL|L4COMPLEMENTNUMEROVOIE structure BAL|"
    "NL4TYPEVOIE structure BAL|L4LIBELLEVOIE structure BAL|L5LIEUDITMENTION structure BAL|"
    "L6LIGNEACHEMINEMENT structure BAL|Code postal structure BAL|Département structure BAL|Pays structure BAL"
)
COLUMNS = tuple(HEADER.split("|"))
COLUMN_COUNT = len(COLUMNS)  # 31

# Types the directory's code list allows; CAB is published but never funded.
KNOWN_TYPES = ("PER", "ORG", "APP", "CAB")
FUNDED_TYPES = ("APP", "ORG", "PER")
KNOWN_TYPE_BYTES = frozenset(kind.encode() for kind in KNOWN_TYPES)


def type_note(kind):
    """What to say after a type's count in a summary (command and admin): CAB is never funded,
    an unknown type's lines were rejected."""
    if kind == "CAB":
        return " (non financées)"
    return "" if kind in KNOWN_TYPES else " (type inconnu, lignes rejetées)"


# Lower-cased before matching. No whitespace, quote, backslash or `|` can pass, which is also
# what makes the COPY text stream below safe without escaping.
ADDRESS_BYTES_RE = re.compile(rb"[a-z0-9!#$%&'*+/=?^_`{}~.-]{1,64}@[a-z0-9-]+(?:\.[a-z0-9-]+)+\Z")
MAX_ADDRESS_LENGTH = 254
# The same rules on a raw line whose type is upper-case and fields unpadded (nearly all of them),
# for polars (Rust regular expressions, anchored at the start of the line).
CLEAN_LINE_PATTERN = r"^(PER|ORG|APP|CAB)\|([a-zA-Z0-9!#$%&'*+/=?^_`{}~.-]{1,64}@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)\|"
# The columns of the parsed rows, in the order they are loaded (types: see _row_schema).
ROW_COLUMNS = ("line", "address", "mailbox_type", "domain")

FILE_NAME_RE = re.compile(r"Extraction_Correspondance_MSSante_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})", re.IGNORECASE)

# Beyond this many bad rows the file is not the one we expect: the import is cancelled.
MAX_ERRORS = 1000
CHUNK_BYTES = 4 * 1024 * 1024  # read and parsed at once, whole lines
# A real line is a few hundred bytes; beyond this one is reported and skipped, never held.
MAX_LINE_BYTES = 64 * 1024
# What stands for such a line in its chunk: no separator, so never taken as a clean line.
TOO_LONG = b"\x00ligne trop longue"
BATCH_ROWS = 50_000
BLOOM_BYTES = 16 * 1024 * 1024  # a power of two
HELD = "funding_annuaire_held"
MOVED = "funding_annuaire_moved"


class ExtractionError(Exception):
    """The file cannot be imported at all (unreadable, bad header, too many errors): French message."""


@dataclass
class ParseReport:
    rows: int = 0
    errors: list = field(default_factory=list)
    error_count: int = 0
    unknown_types: Counter = field(default_factory=Counter)
    # Rows whose address may have been seen before (a superset of the repeated lines): held
    # back from the bulk load and resolved in SQL once it is done (see load_rows).
    held: list = field(default_factory=list)
    # {type: {domain: mailboxes}} of the rows loaded, the per-domain aggregate of the snapshot.
    domain_counts: dict = field(default_factory=dict)

    def add_error(self, line, message):
        self.error_count += 1
        if self.error_count > MAX_ERRORS:
            raise ExtractionError(
                f"Plus de {MAX_ERRORS} lignes en erreur (ligne {line}) : import annulé, rien n'a été enregistré."
            )
        self.errors.append({"line": line, "error": message})


@dataclass
class Extraction:
    """An opened extraction: the name of the text inside, its size and a binary stream on it.

    `crc32`: the CRC-32 of the text, known before reading it for a zip member (from the archive's
    directory), None for a plain file. `archive`: the zip's own file name, or "".
    """

    name: str
    size: int
    raw: io.BufferedIOBase
    crc32: int | None = None
    archive: str = ""

    @property
    def text_key(self):
        """What identifies the text without reading it: name, size and CRC-32 (None when unknown)."""
        return None if self.crc32 is None else text_key(self.name, self.size, self.crc32)


def text_key(name, size, crc32):
    return f"{name}|{size}|{crc32:08x}"[-300:]


ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class _ZipMemberReader:
    """A zip member's stream whose failures are worded: a bad CRC (checked by zipfile once the
    member has been read to its end) or compressed data that stop short. ExtractionError."""

    def __init__(self, raw, member):
        self._raw, self._member = raw, member

    def _call(self, method, *args):
        try:
            return method(*args)
        except zipfile.BadZipFile as exc:
            if "CRC" in str(exc):
                raise ExtractionError(f"Archive endommagée (CRC incorrect) : {self._member}.") from None
            raise ExtractionError(f"Archive endommagée : {self._member} ({exc}).") from None
        except (EOFError, zlib.error):
            raise ExtractionError(
                f"Fichier tronqué : le contenu compressé de {self._member} s'arrête avant sa fin."
            ) from None

    def read(self, size=-1):
        return self._call(self._raw.read, size)

    def readline(self, size=-1):
        return self._call(self._raw.readline, size)

    def tell(self):
        return self._raw.tell()


class HashingReader:
    """Passes reads through and hashes what went by (SHA-256, CRC-32, size): the text is hashed
    in the parse pass itself, never read (for a zip: inflated) a second time."""

    def __init__(self, raw, *, crc=True):
        self._raw = raw
        self._digest = hashlib.sha256()
        self._crc = crc  # a zip member's CRC-32 is known (and checked by zipfile): not computed again
        self.crc32 = 0
        self.size = 0

    def _seen(self, data):
        self._digest.update(data)
        if self._crc:
            self.crc32 = zlib.crc32(data, self.crc32)
        self.size += len(data)
        return data

    def read(self, size=-1):
        return self._seen(self._raw.read(size))

    def readline(self, size=-1):
        return self._seen(self._raw.readline(size))

    def tell(self):
        return self._raw.tell()

    def hexdigest(self):
        return self._digest.hexdigest()


@contextmanager
def open_extraction(path):
    """Open `path` (.txt, or a .zip holding one .txt) as a binary stream; ExtractionError otherwise,
    worded for the agent: a file that is not a zip, a truncated or damaged archive, not one .txt."""
    path = Path(path)
    if not path.is_file():
        raise ExtractionError(f"Fichier introuvable : {path}")
    with open(path, "rb") as probe:
        magic = probe.read(4)
    if magic in ZIP_MAGIC or path.suffix.lower() == ".zip":
        if magic not in ZIP_MAGIC:
            raise ExtractionError(f"Ce fichier n'est pas une archive zip : {path.name}.")
        if not zipfile.is_zipfile(path):
            # The directory of a zip is at its end: a copy cut short has none.
            raise ExtractionError(
                f"Fichier tronqué : l'archive {path.name} est incomplète (répertoire de l'archive introuvable)."
            )
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ExtractionError(f"Archive endommagée : {path.name} ({exc}).") from None
        with archive:
            files = [info for info in archive.infolist() if not info.is_dir()]
            members = [info for info in files if info.filename.lower().endswith(".txt")]
            if len(members) != 1:
                found = ", ".join(f"« {info.filename} »" for info in files[:5]) or "aucun fichier"
                raise ExtractionError(
                    f"L'archive doit contenir un seul fichier .txt ({len(members)} trouvé(s) ; contenu : {found})."
                )
            member = members[0]
            try:
                opened = archive.open(member)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                raise ExtractionError(f"Archive endommagée : {member.filename} ({exc}).") from None
            with opened as raw:
                yield Extraction(
                    name=Path(member.filename).name,
                    size=member.file_size,
                    raw=_ZipMemberReader(raw, member.filename),
                    crc32=member.CRC,
                    archive=path.name,
                )
        return
    with open(path, "rb") as raw:
        yield Extraction(name=path.name, size=path.stat().st_size, raw=raw)


def generated_at_from_name(*names):
    """The generation time in `Extraction_Correspondance_MSSante_AAAAMMJJhhmm` (Paris time), or None."""
    for name in names:
        match = FILE_NAME_RE.search(name or "")
        if match:
            try:
                return datetime(*(int(part) for part in match.groups()), tzinfo=PARIS)
            except ValueError:
                return None
    return None


def generation_warning(*, generated_at, as_of):
    """A French warning when the extraction was not generated the day after `as_of`, or "".

    A nightly extraction generated on day D (at 04:00, say) reflects the directory at the end of
    D − 1: the file for `as_of` is the one generated on `as_of` + 1. None (no time in the name): "".
    """
    if generated_at is None:
        return ""
    generated = generated_at.astimezone(PARIS)
    reflects = generated.date() - timedelta(days=1)
    if reflects == as_of:
        return ""
    when = "antérieur" if reflects < as_of else "postérieur"
    return (
        f"Attention : extraction générée le {generated:%d/%m/%Y à %H:%M} (heure de Paris), elle reflète "
        f"l'Annuaire à la fin du {reflects:%d/%m/%Y}, jour {when} au {as_of:%d/%m/%Y} pour lequel elle est "
        "importée."
    )


def as_of_from_name(*names):
    """The extraction date in `Extraction_Correspondance_MSSante_AAAAMMJJhhmm`, or None."""
    for name in names:
        match = FILE_NAME_RE.search(name or "")
        if match:
            year, month, day = (int(part) for part in match.groups()[:3])
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


def _clean_line(line):
    """A header or data line without BOM, line ending or stray double quotes."""
    line = line.lstrip("\ufeff").rstrip("\r\n")
    if '"' in line:
        line = line.replace('"', "")
    return line


def check_header(first_line):
    """Refuse anything but the 31 expected columns (a trailing `|` is allowed); ExtractionError."""
    line = _clean_line(first_line)
    names = [name.strip() for name in line.split("|")]
    if len(names) == COLUMN_COUNT + 1 and names[-1] == "":
        names.pop()
    if [name.casefold() for name in names] == [name.casefold() for name in COLUMNS]:
        return
    if len(names) != COLUMN_COUNT:
        raise ExtractionError(
            f"En-tête invalide : {len(names)} colonnes au lieu de {COLUMN_COUNT} "
            "(ce fichier n'est pas une extraction MSSanté de l'Annuaire Santé)."
        )
    wrong = next(
        i for i, (got, want) in enumerate(zip(names, COLUMNS, strict=True)) if got.casefold() != want.casefold()
    )
    raise ExtractionError(f"En-tête invalide : colonne {wrong + 1} « {names[wrong]} » au lieu de « {COLUMNS[wrong]} ».")


def read_header(raw):
    """Read and check the first line of `raw` (ExtractionError when it is not the expected header)."""
    first = raw.readline(64 * 1024)
    if not first:
        raise ExtractionError("Le fichier est vide.")
    try:
        check_header(first.decode("utf-8"))
    except UnicodeDecodeError:
        raise ExtractionError("En-tête invalide : le fichier n'est pas encodé en UTF-8.") from None
    return first


def inspect_file(extraction):
    """First pass over a plain file's bytes: check the header; (SHA-256, CRC-32) of the text."""
    reader = HashingReader(extraction.raw)
    read_header(reader)
    while reader.read(1024 * 1024):
        pass
    return reader.hexdigest(), reader.crc32


def parse_batches(extraction, report, *, progress=None, batch_rows=BATCH_ROWS, vectorised=True, header_read=False):
    """Yield polars DataFrames (line, address, mailbox_type, domain) of the valid, first-seen rows.

    Bad rows go to `report` with their line number; the header is line 1 and has been checked.
    Blank lines are skipped (not rows). A line may end with one extra `|`; an empty last column
    also ends a line with `|`, hence the count of separators rather than a split.

    The file is read in chunks of whole lines. In each chunk the clean lines (the usual ones:
    upper-case type, unpadded address, right number of columns) are recognised column-wise by
    polars; every other line goes through `_parse_line`, the same rules applied line by line in
    Python, which also words the errors. `vectorised=False` sends every line there (the
    reference the fast path is tested against).

    Duplicates: a fixed-size bit set of address hashes (BLOOM_BYTES, a one-hash Bloom filter)
    tells whether an address *may* have been seen in an earlier chunk; within a chunk, the
    repeats of a hash are marked. Such rows are held back in `report.held` (a few per thousand:
    the repeated lines plus the filter's false positives) and every other row is yielded. There
    are no false negatives, so the first line of any address is either yielded, its later lines
    all held, or held together with them: load_rows resolves the held rows exactly. The yielded
    rows are counted per type and domain in `report.domain_counts`.
    """
    import polars as pl  # imported here: only the import needs it, not every process start

    raw = extraction.raw
    if not header_read:
        raw.readline()  # the header (checked before)
    bits = BLOOM_BYTES * 8
    seen = pl.Series("seen", [False], dtype=pl.Boolean).extend_constant(False, bits - 1)
    domain_counts = {kind: {} for kind in KNOWN_TYPES}
    first_line = 2
    rows = 0
    try:
        for chunk in _chunks(raw):
            line_count = chunk.count(b"\n")
            frame, chunk_rows = _parse_chunk(chunk, first_line, line_count, report, rows, vectorised=vectorised)
            first_line += line_count
            rows += chunk_rows
            if frame.height:
                hashes = frame.get_column("address").hash(seed=0)
                slots = hashes & (bits - 1)
                fresh = hashes.is_first_distinct() & ~seen.gather(slots)
                seen = seen.scatter(slots, True)
                report.held += frame.filter(~fresh).rows()
                frame = frame.filter(fresh)
                for kind, domain, count in frame.group_by("mailbox_type", "domain").len().iter_rows():
                    per_domain = domain_counts[kind]
                    per_domain[domain] = per_domain.get(domain, 0) + count
                yield from frame.iter_slices(batch_rows)
            if progress is not None:
                progress.update(_position(extraction), rows)
    finally:
        report.rows = max(report.rows, rows)  # also when too many errors stop the import
    report.domain_counts = domain_counts
    if progress is not None:
        progress.update(extraction.size, rows, force=True)


def _chunks(raw):
    """The stream in pieces of whole lines, each ending with a newline (one is added at the end).

    Memory stays bounded whatever the bytes: the end of a line is read MAX_LINE_BYTES at most;
    beyond, the line is skipped to its end and stands in the chunk as TOO_LONG. Whether a line is
    too long is decided by `_parse_line`, whatever the chunk boundaries.
    """
    while data := raw.read(CHUNK_BYTES):
        if not data.endswith(b"\n"):
            rest = raw.readline(MAX_LINE_BYTES)  # the rest of the last line
            if len(rest) == MAX_LINE_BYTES and not rest.endswith(b"\n"):  # and more beyond: too long
                while (more := raw.readline(MAX_LINE_BYTES)) and not more.endswith(b"\n"):
                    pass
                data = data[: data.rfind(b"\n") + 1] + TOO_LONG + b"\n"
            else:
                data += rest
            if not data.endswith(b"\n"):
                data += b"\n"  # the end of a file without a final newline
        yield data


def _parse_chunk(chunk, first_line, line_count, report, rows_before, *, vectorised):
    """(frame of the chunk's valid rows in line order, number of rows read) for `chunk`.

    A line the vectorised test does not take as clean goes through `_parse_line`, in order.
    """
    import polars as pl

    if b'"' in chunk:
        chunk = chunk.replace(b'"', b"")
    lines = _lines_frame(chunk, line_count) if vectorised else None
    if lines is None:
        clean = pl.DataFrame(schema=_row_schema())
        others = range(first_line, first_line + line_count)
    else:
        text = pl.col("l")
        pipes = text.str.count_matches("|", literal=True)
        fields = text.str.extract_groups(CLEAN_LINE_PATTERN)
        lines = lines.select(
            line=pl.int_range(first_line, first_line + lines.height, dtype=pl.Int64),
            short=text.str.len_bytes() < MAX_LINE_BYTES - 1,  # longer ones: `_parse_line` decides
            columns_ok=(pipes == COLUMN_COUNT - 1) | ((pipes == COLUMN_COUNT) & text.str.ends_with("|")),
            mailbox_type=fields.struct.field("1"),
            address=fields.struct.field("2"),
        )
        is_clean = (
            pl.col("short")
            & pl.col("columns_ok")
            & pl.col("mailbox_type").is_not_null()
            & (pl.col("address").str.len_bytes() <= MAX_ADDRESS_LENGTH)
        )
        clean = lines.filter(is_clean).select(
            "line",
            address := pl.col("address").str.to_lowercase(),
            "mailbox_type",
            domain=address.str.split_exact("@", 1).struct.field("field_1"),
        )
        others = lines.filter(~is_clean).get_column("line").to_list()
    if not others:
        return clean, len(clean)
    raw_lines = chunk.split(b"\n")
    parsed, blanks = [], 0
    for line_no in others:
        try:
            row = _parse_line(raw_lines[line_no - first_line], line_no, report)
        except ExtractionError:
            report.rows = rows_before + line_no - first_line + 1 - blanks
            raise
        if row is _BLANK:
            blanks += 1
        elif row is not None:
            parsed.append(row)
    lines_read = line_count - blanks
    if not parsed:
        return clean, lines_read
    extra = pl.DataFrame(parsed, schema=_row_schema(), orient="row")
    return pl.concat([clean, extra]).sort("line"), lines_read


def _lines_frame(chunk, line_count):
    """The chunk's lines as polars column `l`, or None when its CSV reader might not split them
    exactly as Python does (a unit separator, a count of lines that differs).

    The reader drops one carriage return before each newline and keeps any other as text, where
    Python strips them all from the end of a line. That only matters to the test of a trailing
    `|`, which then fails: the line goes to the line-by-line rules, which take it as Python always
    did (the type and address, at the start of the line, are read the same either way).
    """
    import polars as pl

    if b"\x1f" in chunk:
        return None
    try:
        lines = pl.read_csv(
            chunk,
            has_header=False,
            separator="\x1f",
            quote_char=None,
            new_columns=["l"],
            infer_schema=False,
            encoding="utf8-lossy",
        )
    except pl.exceptions.PolarsError:
        return None
    return lines if lines.height == line_count else None


def _row_schema():
    import polars as pl

    return dict(zip(ROW_COLUMNS, (pl.Int64, pl.String, pl.String, pl.String), strict=True))


_BLANK = object()


def _parse_line(line, line_no, report):
    """(line, address, type, domain) of one line (bytes, quotes removed), tolerating spaces and case;
    `_BLANK` for a blank line; None after reporting what is wrong with it."""
    if len(line) > MAX_LINE_BYTES or line == TOO_LONG:
        report.add_error(line_no, f"ligne trop longue (plus de {MAX_LINE_BYTES // 1024} Kio) : ignorée")
        return None
    line = line.rstrip(b"\r\n")
    pipes = line.count(b"|")
    if pipes != COLUMN_COUNT - 1 and not (pipes == COLUMN_COUNT and line.endswith(b"|")):
        if not line.strip():
            return _BLANK
        columns = pipes if line.endswith(b"|") else pipes + 1
        report.add_error(line_no, f"nombre de colonnes incorrect : {columns} au lieu de {COLUMN_COUNT}")
        return None
    kind, address, _ = line.split(b"|", 2)
    kind = kind.strip().upper()
    if kind not in KNOWN_TYPE_BYTES:
        kind = kind.decode("utf-8", "replace")
        if kind:
            report.unknown_types[kind[:20]] += 1
            report.add_error(line_no, f"type de BAL inconnu : « {kind[:20]} »")
        else:
            report.add_error(line_no, "type de BAL vide")
        return None
    address = address.strip().lower()
    if len(address) > MAX_ADDRESS_LENGTH or ADDRESS_BYTES_RE.match(address) is None:
        if address:
            report.add_error(line_no, f"adresse BAL invalide : « {address[:80].decode('utf-8', 'replace')} »")
        else:
            report.add_error(line_no, "adresse BAL vide")
        return None
    address = address.decode("ascii")
    return line_no, address, kind.decode("ascii"), address.partition("@")[2]


def _position(extraction):
    try:
        return extraction.raw.tell()
    except (OSError, ValueError):
        return 0


# --- Loading --------------------------------------------------------------------------------


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


def load_rows(batches, report, *, snapshot_id):
    """Bulk-load parsed rows into the (uncommitted) snapshot, resolve the held rows, store the aggregate.

    Must run inside the caller's transaction: until it commits, the snapshot's rows are its own
    staging area, invisible to every other session, and a failure leaves nothing behind.
    Returns how many repeated lines were folded away.
    """
    table = _table(AnnuaireMailbox)
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
            f"INSERT INTO {_table(AnnuaireDomainCount)} (snapshot_id, domain, mailbox_type, count) "
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
        f"SELECT DISTINCT m.address FROM {_table(AnnuaireMailbox)} m JOIN {HELD} x ON x.address = m.address "
        "WHERE m.snapshot_id = %s",
        [snapshot_id],
    )
    loaded = {address for (address,) in cursor.fetchall()}
    cursor.execute(f"DROP TABLE {HELD}")
    return [row for row in first.values() if row[1] not in loaded]


# --- Set-based reads over a snapshot ----------------------------------------------------------


def _valid_domain_condition(alias):
    """SQL: domain row `alias` is valid on the day passed twice as parameters."""
    return (
        f"({alias}.valid_from IS NULL OR {alias}.valid_from <= %s) "
        f"AND ({alias}.valid_until IS NULL OR {alias}.valid_until >= %s)"
    )


def type_counts(snapshot_id):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT mailbox_type, SUM(count) FROM {_table(AnnuaireDomainCount)} WHERE snapshot_id = %s "
            "GROUP BY mailbox_type",
            [snapshot_id],
        )
        return {kind: int(count) for kind, count in cursor.fetchall()}


def unknown_domains(snapshot_id, day):
    """{domain: mailboxes} for the domains no operator held on `day`, largest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.domain, SUM(c.count) AS n FROM {_table(AnnuaireDomainCount)} c WHERE c.snapshot_id = %s "
            f"AND NOT EXISTS (SELECT 1 FROM {_table(MailDomain)} d WHERE LOWER(d.name) = c.domain "
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
            f"SELECT d.operator_id, c.mailbox_type, SUM(c.count) FROM {_table(AnnuaireDomainCount)} c "
            f"JOIN {_table(MailDomain)} d ON LOWER(d.name) = c.domain AND {_valid_domain_condition('d')} "
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
            f"SELECT cd.operator_id, cd.domain FROM {_table(CountedDomain)} cd "
            f"JOIN {_table(MailDomain)} h ON LOWER(h.name) = cd.domain AND {_valid_domain_condition('h')} "
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
        f"FROM {_table(AnnuaireMailbox)} m "
        f"JOIN {_table(MailDomain)} d ON LOWER(d.name) = m.domain AND {_valid_domain_condition('d')} "
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
        f"WITH present AS MATERIALIZED (SELECT m.mailbox_type, m.domain FROM {_table(AnnuaireMailbox)} m "
        f"WHERE m.snapshot_id = %s AND m.mailbox_type IN ({funded}) AND m.domain IN ({placeholders}) "
        f"AND m.address IN (SELECT x.address FROM {MOVED} x)) "
        f"SELECT d.operator_id, p.mailbox_type, COUNT(*) FROM present p "
        f"JOIN {_table(MailDomain)} d ON LOWER(d.name) = p.domain AND {_valid_domain_condition('d')}{only} "
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
            f"INSERT INTO {_table(CountedMailbox)} (campaign_id, operator_id, address, mailbox_type, domain) "
            f"SELECT %s, %s, m.address, m.mailbox_type, m.domain {_mailboxes_of(True)} "
            f"AND m.mailbox_type IN ({funded}){exclusion}",
            [campaign_id, operator_id, day, day, snapshot_id, operator_id],
        )
        recorded = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {_table(CountedDomain)} (campaign_id, operator_id, domain, count) "
            f"SELECT campaign_id, operator_id, domain, COUNT(*) FROM {_table(CountedMailbox)} "
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
