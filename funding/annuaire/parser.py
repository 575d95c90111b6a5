"""Reading an extraction: opening it (plain text or zip, hashed as it is read) and parsing its rows.

Rows are parsed by one reader shared by both database paths, so PostgreSQL and SQLite store exactly the
same mailboxes: the clean lines column-wise with polars (a million rows in about a second), every other
line by the same rules written line by line in Python, which also word the errors. Memory stays bounded:
the file is streamed and only one chunk of lines, a fixed-size filter of address hashes and at most
`MAX_ERRORS` error messages are held. polars is imported where it is used: only the import loads it.
"""

import hashlib
import io
import zipfile
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from funding.annuaire.format import (
    ADDRESS_BYTES_RE,
    CLEAN_LINE_PATTERN,
    COLUMN_COUNT,
    KNOWN_TYPE_BYTES,
    KNOWN_TYPES,
    MAX_ADDRESS_LENGTH,
    ROW_COLUMNS,
    ExtractionError,
    check_header,
)

# Beyond this many bad rows the file is not the one we expect: the import is cancelled.
MAX_ERRORS = 1000
CHUNK_BYTES = 4 * 1024 * 1024  # read and parsed at once, whole lines
# A real line is a few hundred bytes; beyond this one is reported and skipped, never held.
MAX_LINE_BYTES = 64 * 1024
# What stands for such a line in its chunk: no separator, so never taken as a clean line.
TOO_LONG = b"\x00ligne trop longue"
BATCH_ROWS = 50_000
BLOOM_BYTES = 16 * 1024 * 1024  # a power of two


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
