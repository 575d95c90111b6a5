"""On PostgreSQL, the COPY path and the portable batched path store exactly the same snapshot."""

import pytest
from django.db import connection

from funding import annuaire
from funding.models import AnnuaireDomainCount, AnnuaireMailbox, AnnuaireSnapshot
from funding.synthetic import write_extraction

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def load(path, *, vendor, monkeypatch, sha):
    snapshot = AnnuaireSnapshot.objects.create(as_of="2023-06-30", file_name=path.name, sha256=sha)
    report = annuaire.ParseReport()

    with monkeypatch.context() as patch:
        patch.setattr(connection, "vendor", vendor)
        with annuaire.open_extraction(path) as extraction:
            folded = annuaire.load_rows(annuaire.parse_batches(extraction, report), report, snapshot_id=snapshot.pk)
    return snapshot, folded, report


def test_copy_and_batched_paths_give_identical_snapshots(tmp_path, monkeypatch):
    path = write_extraction(tmp_path / "x.txt", rows=5000, seed=11, duplicate_share=0.02, trailing_pipe=True, crlf=True)
    fast, fast_folded, fast_report = load(path, vendor="postgresql", monkeypatch=monkeypatch, sha="a" * 64)
    slow, slow_folded, slow_report = load(path, vendor="sqlite", monkeypatch=monkeypatch, sha="b" * 64)

    def content(snapshot):
        return sorted(
            AnnuaireMailbox.objects.filter(snapshot=snapshot).values_list("line", "address", "mailbox_type", "domain")
        )

    def aggregates(snapshot):
        return sorted(
            AnnuaireDomainCount.objects.filter(snapshot=snapshot).values_list("domain", "mailbox_type", "count")
        )

    assert fast_folded == slow_folded > 0
    assert content(fast) == content(slow)
    assert aggregates(fast) == aggregates(slow)
    assert fast_report.errors == slow_report.errors == []
    assert len(content(fast)) == len({address for _, address, _, _ in content(fast)})
