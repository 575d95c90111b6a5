"""The synthetic extraction: realistic shape, deterministic for a seed, importable."""

import zipfile
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from funding import annuaire, services
from funding.synthetic import synthetic_domains, write_extraction


def lines_of(path):
    return path.read_bytes().decode("utf-8").splitlines()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = write_extraction(tmp_path / "a.txt", rows=500, seed=7)
    b = write_extraction(tmp_path / "b.txt", rows=500, seed=7)
    c = write_extraction(tmp_path / "c.txt", rows=500, seed=8)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_header_columns_and_mix_look_like_the_real_file(tmp_path):
    path = write_extraction(tmp_path / "x.txt", rows=20_000, seed=1)
    lines = lines_of(path)
    assert lines[0] == annuaire.HEADER
    assert all(line.count("|") == 30 for line in lines[1:])
    kinds = Counter(line.split("|", 1)[0] for line in lines[1:])
    assert 0.80 < kinds["PER"] / 20_000 < 0.90
    assert 0.10 < kinds["ORG"] / 20_000 < 0.20
    assert 0 < kinds["CAB"] < 50
    domains = Counter(line.split("|")[1].split("@")[1] for line in lines[1:])
    biggest = domains.most_common(1)[0][1]
    assert biggest > 10 * sorted(domains.values())[len(domains) // 2]  # skewed: a few very large domains
    assert 200 < len(domains) <= 320


def test_options_trailing_pipe_crlf_bom_and_zip(tmp_path):
    path = write_extraction(tmp_path / "x.txt", rows=10, trailing_pipe=True, crlf=True, bom=True)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 11
    assert all(line.endswith("|") for line in raw.decode("utf-8-sig").splitlines())
    archive = write_extraction(tmp_path / "Extraction_Correspondance_MSSante_202306300400.zip", rows=10, as_zip=True)
    with zipfile.ZipFile(archive) as opened:
        assert opened.namelist() == ["Extraction_Correspondance_MSSante_202306300400.txt"]


def test_domains_are_about_three_hundred_plus_a_few_unknown():
    domains = synthetic_domains(seed=0)
    assert len(domains.operator_domains) == 300
    assert len(set(domains.operator_domains) | set(domains.unknown_domains)) == 320


@pytest.mark.django_db
def test_generated_file_imports_cleanly_through_the_command(tmp_path):
    path = tmp_path / "Extraction_Correspondance_MSSante_202306300400.txt"
    call_command("generate_annuaire", str(path), "--rows", "2000", "--seed", "4", "--crlf", stdout=StringIO())
    result = services.annuaire_import(path=path)
    assert result.summary["errors"] == []
    assert result.summary["rows"] == 2000
