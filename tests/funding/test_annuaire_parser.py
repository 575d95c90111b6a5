"""The column-wise parser (polars) gives exactly what the line-by-line rules give, on messy files.

`parse_batches(vectorised=False)` sends every line through `_parse_line`, the plain Python
statement of the rules; the vectorised path must agree with it row for row, error for error,
whatever the chunk boundaries, line endings, bytes and duplicates.
"""

import io
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funding import annuaire
from funding.annuaire import parser
from tests.funding.annuaire_utils import row

ADDRESSES = ["a@x.fr", "B.c@Medecin.MSSante.fr", "d-e@ch.example.org", "f@x.fr", "g+h@lab.mssante.fr"]


def encoded(text):
    return text.encode()


LINES = st.one_of(
    st.sampled_from(ADDRESSES).map(lambda a: encoded(row("PER", a))),  # clean, often repeated
    st.tuples(st.sampled_from(["PER", "ORG", "APP", "CAB"]), st.sampled_from(ADDRESSES)).map(
        lambda t: encoded(row(*t))
    ),
    st.sampled_from(ADDRESSES).map(lambda a: encoded(row("per", a))),  # lower-case type
    st.sampled_from(ADDRESSES).map(lambda a: encoded(row(" ORG ", f"  {a} "))),  # padded
    st.sampled_from(ADDRESSES).map(lambda a: encoded(row('"PER"', f'"{a}"'))),  # quoted
    st.sampled_from(ADDRESSES).map(lambda a: encoded(row("PER", a) + "|")),  # trailing separator
    st.sampled_from(ADDRESSES).map(lambda a: encoded(row("PER", a)) + b"\r"),  # CRLF
    st.just(b""),
    st.just(b"   \t"),
    st.just(b"\r"),
    st.integers(1, 40).map(lambda n: encoded(row("PER", "z@x.fr", columns=n))),  # wrong column count
    st.just(encoded(row("XYZ", "a@x.fr"))),
    st.just(encoded(row("", "a@x.fr"))),
    st.just(encoded(row("PER", ""))),
    st.just(encoded(row("PER", "pas-une-adresse"))),
    st.just(encoded(row("PER", "a" * 60 + "@" + "b" * 200 + ".fr"))),  # too long
    st.just(encoded(row("PER", "é@x.fr"))),
    st.just(encoded(row("PER", "a@x.fr")).replace(b"|x|", b"|\xff\xfe|", 1)),  # not UTF-8 elsewhere
    st.just(encoded(row("PER", "a\xffb@x.fr")).replace("\xff".encode(), b"\xff")),  # not UTF-8 in the address
    st.just(encoded(row("PER", "q@x.fr")).replace(b"|x|", b"|x\rx|", 1)),  # stray carriage return
    st.just(encoded(row("PER", "r@x.fr")).replace(b"|x|", b"|x\x1fx|", 1)),  # unit separator
    st.just(encoded(row("PER", "t@x.fr") + "|") + b"\r\r"),  # trailing separator, two carriage returns
    st.just(encoded(row("PER\r", "u@x.fr"))),  # carriage return inside a field
    st.just(b"\r\r"),
    st.integers(250, 700).map(lambda n: encoded(row("PER", "long@x.fr") + "|" + "y" * n)),  # around MAX_LINE_BYTES
    st.just(encoded(row("PER", "K@x.fr".replace("K", "\u212a")))),  # Kelvin sign: not an ASCII letter
)


def parse(data, *, vectorised, chunk_bytes, bloom_bytes, monkeypatch, max_line_bytes=512):
    monkeypatch.setattr(parser, "CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(parser, "MAX_LINE_BYTES", max_line_bytes)
    monkeypatch.setattr(parser, "BLOOM_BYTES", bloom_bytes)
    report = annuaire.ParseReport()
    extraction = annuaire.Extraction(name="x.txt", size=len(data), raw=io.BytesIO(data))
    try:
        rows = [r for batch in annuaire.parse_batches(extraction, report, vectorised=vectorised) for r in batch.rows()]
        outcome = None
    except annuaire.ExtractionError as exc:
        rows, outcome = None, str(exc)
    return {
        "rows": rows,
        "outcome": outcome,
        "read": report.rows,
        "errors": report.errors,
        "unknown_types": dict(report.unknown_types),
        "held": report.held,
        "domain_counts": report.domain_counts if outcome is None else None,
    }


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(LINES, max_size=60),
    final_newline=st.booleans(),
    chunk_bytes=st.sampled_from([64, 300, 1 << 20]),
    bloom_bytes=st.sampled_from([1, 1 << 16]),
    max_errors=st.sampled_from([3, 1000]),
)
def test_vectorised_parse_equals_line_by_line_rules(
    monkeypatch, lines, final_newline, chunk_bytes, bloom_bytes, max_errors
):
    monkeypatch.setattr(parser, "MAX_ERRORS", max_errors)
    data = annuaire.HEADER.encode() + b"\n" + b"\n".join(lines) + (b"\n" if final_newline else b"")
    fast = parse(data, vectorised=True, chunk_bytes=chunk_bytes, bloom_bytes=bloom_bytes, monkeypatch=monkeypatch)
    reference = parse(data, vectorised=False, chunk_bytes=chunk_bytes, bloom_bytes=bloom_bytes, monkeypatch=monkeypatch)
    assert fast == reference


def test_rows_are_numbered_by_file_line_and_duplicates_held_after_their_first_line(monkeypatch):
    lines = [row("PER", "A@x.fr"), "", row("per", " b@x.fr "), row("ORG", "a@x.fr"), row("PER", "bad")]
    data = ("\n".join([annuaire.HEADER, *lines]) + "\n").encode()
    result = parse(data, vectorised=True, chunk_bytes=1 << 20, bloom_bytes=1 << 16, monkeypatch=monkeypatch)
    assert result["rows"] == [(2, "a@x.fr", "PER", "x.fr"), (4, "b@x.fr", "PER", "x.fr")]
    assert result["held"] == [(5, "a@x.fr", "ORG", "x.fr")]
    assert result["errors"] == [{"line": 6, "error": "adresse BAL invalide : « bad »"}]
    assert result["read"] == 4  # the blank line is not a row
    assert result["domain_counts"]["PER"] == {"x.fr": 2}


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk_bytes=st.sampled_from([64, 300, 1000, 1 << 20]), vectorised=st.booleans())
def test_a_line_too_long_is_reported_and_skipped_whatever_the_chunks(monkeypatch, chunk_bytes, vectorised):
    lines = [row("PER", "a@x.fr"), row("PER", "b@x.fr") + "|" + "z" * 5000, row("ORG", "c@x.fr")]
    data = ("\n".join([annuaire.HEADER, *lines]) + "\n").encode()
    result = parse(data, vectorised=vectorised, chunk_bytes=chunk_bytes, bloom_bytes=1 << 16, monkeypatch=monkeypatch)
    assert result["rows"] == [(2, "a@x.fr", "PER", "x.fr"), (4, "c@x.fr", "ORG", "x.fr")]
    assert result["errors"] == [{"line": 3, "error": "ligne trop longue (plus de 0 Kio) : ignorée"}]
    assert result["read"] == 3


def test_a_huge_line_is_never_held_in_memory(monkeypatch):
    """The end of a line is read MAX_LINE_BYTES at a time and dropped: a 50 MB line costs nothing."""

    class Stream(io.RawIOBase):
        """Header, one valid row, a 50 MB line, one valid row, served in pieces."""

        def __init__(self):
            self.parts = [
                (annuaire.HEADER + "\n" + row("PER", "a@x.fr") + "\n").encode(),
                *([b"z" * (1 << 20)] * 50),
                ("\n" + row("ORG", "c@x.fr") + "\n").encode(),
            ]
            self.buffer = b""

        def readable(self):
            return True

        def readinto(self, target):
            while not self.buffer and self.parts:
                self.buffer = self.parts.pop(0)
            size = min(len(target), len(self.buffer))
            target[:size], self.buffer = self.buffer[:size], self.buffer[size:]
            return size

    raw = Stream()
    buffered = io.BufferedReader(raw, buffer_size=64 * 1024)
    monkeypatch.setattr(parser, "CHUNK_BYTES", 1 << 20)
    report = annuaire.ParseReport()
    extraction = annuaire.Extraction(name="x.txt", size=0, raw=buffered)

    tracemalloc.start()
    try:
        rows = [r for batch in annuaire.parse_batches(extraction, report) for r in batch.rows()]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20  # Python objects at the peak: a chunk or two, never the 50 MB line
    assert rows == [(2, "a@x.fr", "PER", "x.fr"), (4, "c@x.fr", "ORG", "x.fr")]
    assert [e["line"] for e in report.errors] == [3]
    assert "ligne trop longue (plus de 64 Kio)" in report.errors[0]["error"]
