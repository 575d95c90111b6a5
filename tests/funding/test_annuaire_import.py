"""Importing the Annuaire Santé MSSanté extraction: formats, folding, errors, all-or-nothing."""

import json
import zipfile
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db.models import Count

from funding import annuaire, services
from funding.annuaire import parser
from funding.management.progress import ProgressBar
from funding.models import AnnuaireDomainCount, AnnuaireMailbox, AnnuaireSnapshot
from funding.selectors import basis_on, counts_at
from funding.synthetic import write_extraction
from tests.factories import agent
from tests.funding.annuaire_utils import NAME, extraction, operator_with_domains, row

pytestmark = pytest.mark.django_db

ROWS = [
    row("PER", "Jean.Dupont@medecin.mssante.fr"),
    row("PER", "marie.curie@medecin.mssante.fr"),
    row("ORG", "secretariat@ch-nantes.mssante.fr"),
    row("CAB", "cabinet@medecin.mssante.fr"),
]


def run_json(path, *args):
    out = StringIO()
    call_command("import_annuaire", str(path), "--format", "json", *args, stdout=out)
    return json.loads(out.getvalue())


def stored(snapshot):
    return sorted(snapshot.mailboxes.values_list("address", "mailbox_type", "domain"))


def test_json_summary_has_the_contract_shape_and_counts(tmp_path):
    operator_with_domains("medecin.mssante.fr")
    extraction_path = extraction(tmp_path, ROWS)
    summary = run_json(extraction_path)
    assert list(summary) == ["rows", "mailboxes", "by_type", "unknown_domains", "errors", "generated_at", "warnings"]
    assert summary["generated_at"] == "2023-06-30T04:00:00+02:00"
    # Generated at 04:00 on 30/06, the file reflects 29/06: not the day it is imported for.
    assert len(summary["warnings"]) == 1
    assert "générée le 30/06/2023 à 04:00" in summary["warnings"][0]
    assert "fin du 29/06/2023, jour antérieur au 30/06/2023" in summary["warnings"][0]
    assert summary["rows"] == 4
    assert summary["mailboxes"] == 4
    assert summary["by_type"] == {"PER": 2, "ORG": 1, "APP": 0, "CAB": 1}
    assert summary["unknown_domains"] == {"ch-nantes.mssante.fr": 1}
    assert summary["errors"] == []
    snapshot = AnnuaireSnapshot.objects.get()
    assert snapshot.as_of == date(2023, 6, 30)  # from the file name
    assert snapshot.file_name == extraction_path.name
    assert len(snapshot.sha256) == 64
    assert snapshot.rows == 4
    assert snapshot.imported_by_label.startswith("commande")


def test_addresses_are_lower_cased_and_typed_with_their_domain(tmp_path):
    snapshot = services.annuaire_import(path=extraction(tmp_path, ROWS)).snapshot
    assert ("jean.dupont@medecin.mssante.fr", "PER", "medecin.mssante.fr") in stored(snapshot)
    assert ("secretariat@ch-nantes.mssante.fr", "ORG", "ch-nantes.mssante.fr") in stored(snapshot)


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"bom": True},
        {"trailing_pipe": True},
        {"crlf": True},
        {"bom": True, "trailing_pipe": True, "crlf": True},
        {"as_zip": True},
        {"as_zip": True, "crlf": True, "trailing_pipe": True},
    ],
)
def test_header_and_line_variants_give_the_same_snapshot(variant, tmp_path):
    result = services.annuaire_import(path=extraction(tmp_path, ROWS, **variant))
    assert result.created
    assert result.summary["errors"] == []
    assert stored(result.snapshot) == [
        ("cabinet@medecin.mssante.fr", "CAB", "medecin.mssante.fr"),
        ("jean.dupont@medecin.mssante.fr", "PER", "medecin.mssante.fr"),
        ("marie.curie@medecin.mssante.fr", "PER", "medecin.mssante.fr"),
        ("secretariat@ch-nantes.mssante.fr", "ORG", "ch-nantes.mssante.fr"),
    ]


def test_stray_double_quotes_are_stripped(tmp_path):
    header = '"' + annuaire.HEADER.replace("|", '"|"') + '"'
    rows = ['"PER"|"jean.dupont@medecin.mssante.fr"|' + "|".join(['"x"'] * 29)]
    result = services.annuaire_import(path=extraction(tmp_path, rows, header=header))
    assert result.summary["errors"] == []
    assert stored(result.snapshot) == [("jean.dupont@medecin.mssante.fr", "PER", "medecin.mssante.fr")]


def test_an_empty_last_column_is_not_mistaken_for_a_trailing_pipe(tmp_path):
    line = row("PER", "a@medecin.mssante.fr")
    line = line[: line.rindex("|") + 1]  # "…|" : the country column is empty
    result = services.annuaire_import(path=extraction(tmp_path, [line]))
    assert result.summary["errors"] == []
    assert result.summary["mailboxes"] == 1


def test_duplicate_addresses_are_folded_and_the_first_line_wins(tmp_path):
    rows = [
        row("PER", "jean.dupont@medecin.mssante.fr"),
        row("ORG", "accueil@medecin.mssante.fr"),
        row("PER", "JEAN.DUPONT@medecin.mssante.fr"),  # same address, other case
        row("ORG", "jean.dupont@medecin.mssante.fr"),  # same address, other type: the first line wins
    ]
    result = services.annuaire_import(path=extraction(tmp_path, rows))
    assert result.summary["rows"] == 4
    assert result.summary["mailboxes"] == 2
    assert result.summary["by_type"] == {"PER": 1, "ORG": 1, "APP": 0, "CAB": 0}
    assert AnnuaireMailbox.objects.get(address="jean.dupont@medecin.mssante.fr").line == 2
    assert AnnuaireDomainCount.objects.get(mailbox_type="PER").count == 1


def test_many_duplicates_spread_over_a_generated_file_are_all_folded(tmp_path):
    path = write_extraction(tmp_path / NAME, rows=3000, seed=3, duplicate_share=0.05)
    result = services.annuaire_import(path=path)
    lines = path.read_text().splitlines()[1:]
    addresses = {line.split("|")[1].lower() for line in lines}
    assert len(addresses) < len(lines)  # the generator did repeat some addresses
    assert result.summary["mailboxes"] == len(addresses) == AnnuaireMailbox.objects.count()
    assert sum(result.summary["by_type"].values()) == len(addresses)


def test_cab_mailboxes_are_counted_apart_and_never_funded(tmp_path):
    operator = operator_with_domains("medecin.mssante.fr")
    snapshot = services.annuaire_import(path=extraction(tmp_path, ROWS)).snapshot
    assert snapshot.by_type["CAB"] == 1
    counts = annuaire.operator_type_counts(snapshot.pk, snapshot.as_of, operator_id=operator.pk)
    assert counts == {(operator.pk, "PER"): 2, (operator.pk, "CAB"): 1}

    # The file has PER and ORG lines (none here for this operator: an established zero), no APP line.
    assert counts_at(operator=operator, basis=basis_on(snapshot.as_of, max_age_days=0)) == {"ORG": 0, "PER": 2}


def test_unknown_domains_are_listed_with_their_mailboxes(tmp_path):
    operator_with_domains("medecin.mssante.fr")
    summary = services.annuaire_import(path=extraction(tmp_path, ROWS)).summary
    assert summary["unknown_domains"] == {"ch-nantes.mssante.fr": 1}


def test_a_domain_held_only_outside_the_extraction_date_is_unknown(tmp_path):
    operator_with_domains("ch-nantes.mssante.fr", valid_until=date(2023, 5, 31))
    operator_with_domains("medecin.mssante.fr", valid_from=date(2023, 7, 1))
    summary = services.annuaire_import(path=extraction(tmp_path, ROWS)).summary
    assert summary["unknown_domains"] == {"medecin.mssante.fr": 3, "ch-nantes.mssante.fr": 1}


def test_malformed_rows_are_reported_with_their_line_numbers_and_skipped(tmp_path):
    rows = [
        row("PER", "ok.un@medecin.mssante.fr"),  # line 2
        row("PER", "trop.court@medecin.mssante.fr", columns=30),  # line 3
        row("XYZ", "type.inconnu@medecin.mssante.fr"),  # line 4
        row("PER", ""),  # line 5
        row("PER", "pas-une-adresse"),  # line 6
        "",  # line 7: blank, ignored
        row("", "sans.type@medecin.mssante.fr"),  # line 8
        row("PER", "deux@@medecin.mssante.fr"),  # line 9
        row("ORG", "ok.deux@medecin.mssante.fr") + "|extra|columns",  # line 10
        row("ORG", "ok.trois@medecin.mssante.fr"),  # line 11
    ]
    summary = services.annuaire_import(path=extraction(tmp_path, rows)).summary
    assert summary["rows"] == 9
    assert summary["mailboxes"] == 2
    assert summary["errors"] == [
        {"line": 3, "error": "nombre de colonnes incorrect : 30 au lieu de 31"},
        {"line": 4, "error": "type de BAL inconnu : « XYZ »"},
        {"line": 5, "error": "adresse BAL vide"},
        {"line": 6, "error": "adresse BAL invalide : « pas-une-adresse »"},
        {"line": 8, "error": "type de BAL vide"},
        {"line": 9, "error": "adresse BAL invalide : « deux@@medecin.mssante.fr »"},
        {"line": 10, "error": "nombre de colonnes incorrect : 33 au lieu de 31"},
    ]
    assert summary["by_type"]["XYZ"] == 1  # unknown types counted apart
    assert AnnuaireSnapshot.objects.get().error_count == 7


@pytest.mark.parametrize(
    "header",
    [
        "Type de BAL|Adresse BAL",
        annuaire.HEADER.replace("Adresse BAL", "Adresse mail"),
        annuaire.HEADER + "|Colonne en trop|",
        "PER|jean@medecin.mssante.fr",
    ],
)
def test_a_bad_header_is_refused_before_anything_is_written(header, tmp_path):
    path = extraction(tmp_path, ROWS, header=header)
    err = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_annuaire", str(path), stderr=err)
    message = str(error.value)
    assert message.startswith("En-tête invalide")
    assert "\n" not in message
    assert not AnnuaireSnapshot.objects.exists()
    assert not AnnuaireMailbox.objects.exists()


def test_bad_header_exits_non_zero_from_the_command_line(tmp_path, capsys):
    """What `manage.py import_annuaire` does (execute_from_command_line), in this process; a real process
    exits the same way (tests/funding/test_simulate_command.py)."""
    path = extraction(tmp_path, ROWS, header="a|b|c")
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "import_annuaire", str(path), "--format", "json"])
    done = capsys.readouterr()
    assert exit_.value.code not in (0, None)
    assert done.out == ""
    assert done.err.strip().count("\n") == 0
    assert "En-tête invalide" in done.err


def test_an_import_failing_half_way_leaves_no_snapshot(monkeypatch, tmp_path):
    rows = [row("PER", f"p{n}@medecin.mssante.fr") for n in range(50)]
    parse = annuaire.parse_batches

    def failing(extraction, report, **kwargs):
        for number, batch in enumerate(parse(extraction, report, batch_rows=10, **kwargs)):
            if number == 2:
                raise OSError("disque plein")
            yield batch

    monkeypatch.setattr(annuaire, "parse_batches", failing)
    with pytest.raises(OSError):
        services.annuaire_import(path=extraction(tmp_path, rows))
    assert not AnnuaireSnapshot.objects.exists()
    assert not AnnuaireMailbox.objects.exists()
    assert not AnnuaireDomainCount.objects.exists()


def test_too_many_bad_rows_cancel_the_import(monkeypatch, tmp_path):
    monkeypatch.setattr(parser, "MAX_ERRORS", 3)
    rows = [row("PER", "ok@medecin.mssante.fr")] + [row("PER", "bad") for _ in range(5)]
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_annuaire", str(extraction(tmp_path, rows)), "--format", "json", stdout=out)
    assert "import annulé" in str(error.value)
    summary = json.loads(out.getvalue())
    assert [e["line"] for e in summary["errors"]] == [3, 4, 5]
    assert summary["rows"] == 5  # read up to the fourth bad row, where the import stopped
    assert not AnnuaireSnapshot.objects.exists()
    assert not AnnuaireMailbox.objects.exists()


def test_reimporting_the_same_file_is_a_no_op_that_says_so(tmp_path):
    path = extraction(tmp_path, ROWS)
    first = run_json(path)
    out = StringIO()
    call_command("import_annuaire", str(path), stdout=out)
    assert "déjà importé" in out.getvalue()
    assert "rien à faire" in out.getvalue()
    assert run_json(path) == first
    assert AnnuaireSnapshot.objects.count() == 1
    assert AnnuaireMailbox.objects.count() == 4


def test_the_same_extraction_zipped_is_recognised_as_already_imported(tmp_path):
    services.annuaire_import(path=extraction(tmp_path, ROWS))
    again = services.annuaire_import(path=extraction(tmp_path, ROWS, as_zip=True))
    assert not again.created
    assert AnnuaireSnapshot.objects.count() == 1


def test_as_of_option_overrides_the_file_name_and_is_required_without_it(tmp_path):
    path = extraction(tmp_path, ROWS, name="extraction-correspondance-mssante.txt")
    with pytest.raises(annuaire.ExtractionError, match="--as-of"):
        services.annuaire_import(path=path)
    assert not AnnuaireSnapshot.objects.exists()
    run_json(path, "--as-of", "2024-01-31")
    assert AnnuaireSnapshot.objects.get().as_of == date(2024, 1, 31)


def test_a_zip_without_exactly_one_text_file_is_refused(tmp_path):
    path = tmp_path / "Extraction_Correspondance_MSSante_202306300400.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", annuaire.HEADER + "\n")
        archive.writestr("b.txt", annuaire.HEADER + "\n")
    with pytest.raises(annuaire.ExtractionError, match="un seul fichier"):
        services.annuaire_import(path=path)


def test_the_importing_agent_is_recorded(tmp_path):
    user = agent()
    out = StringIO()
    call_command("import_annuaire", str(extraction(tmp_path, ROWS)), "--user", user.username, stdout=out)
    snapshot = AnnuaireSnapshot.objects.get()
    assert snapshot.imported_by == user
    assert snapshot.imported_by_label == user.username


def test_text_summary_lists_types_unknown_domains_and_errors(tmp_path):
    rows = [*ROWS, row("PER", "bad")]
    out = StringIO()
    call_command("import_annuaire", str(extraction(tmp_path, rows)), stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "Lignes lues : 5" in text
    assert "CAB : 1 (non financées)" in text
    assert "ch-nantes.mssante.fr : 1" in text
    assert "ligne 6 : adresse BAL invalide" in text


def test_no_progress_bar_is_drawn_when_stderr_is_not_a_terminal(tmp_path):
    err = StringIO()
    call_command("import_annuaire", str(extraction(tmp_path, ROWS)), stdout=StringIO(), stderr=err)
    assert err.getvalue() == ""


def test_progress_bar_draws_on_a_terminal():
    class Tty(StringIO):
        def isatty(self):
            return True

    stream = Tty()
    bar = ProgressBar.for_terminal(stream, total=100)
    bar.update(50, 1234, force=True)
    bar.close()
    assert "50 %" in stream.getvalue()
    assert "1\u202f234 lignes" in stream.getvalue()
    assert ProgressBar.for_terminal(StringIO(), total=100) is None


@pytest.mark.parametrize("bloom_bytes", [1, 64])
def test_a_saturated_duplicate_filter_gives_the_same_snapshot(monkeypatch, tmp_path, bloom_bytes):
    """With a tiny filter almost every row is held back and resolved in SQL: same result."""

    path = write_extraction(tmp_path / NAME, rows=1500, seed=5, duplicate_share=0.05)
    normal = services.annuaire_import(path=path)
    expected = sorted(
        AnnuaireMailbox.objects.filter(snapshot=normal.snapshot).values_list("line", "address", "mailbox_type")
    )
    aggregate = sorted(normal.snapshot.domain_counts.values_list("domain", "mailbox_type", "count"))
    normal.snapshot.delete()
    monkeypatch.setattr(parser, "BLOOM_BYTES", bloom_bytes)
    tight = services.annuaire_import(path=path)
    assert (
        sorted(AnnuaireMailbox.objects.filter(snapshot=tight.snapshot).values_list("line", "address", "mailbox_type"))
        == expected
    )
    assert sorted(tight.snapshot.domain_counts.values_list("domain", "mailbox_type", "count")) == aggregate
    assert tight.summary["mailboxes"] == normal.summary["mailboxes"]


def test_the_per_domain_aggregate_matches_the_mailboxes(tmp_path):
    snapshot = services.annuaire_import(path=write_extraction(tmp_path / NAME, rows=2000, seed=9)).snapshot
    grouped = AnnuaireMailbox.objects.filter(snapshot=snapshot).values("domain", "mailbox_type").annotate(n=Count("pk"))
    assert sorted((g["domain"], g["mailbox_type"], g["n"]) for g in grouped) == sorted(
        snapshot.domain_counts.values_list("domain", "mailbox_type", "count")
    )


def test_padded_fields_and_lower_case_types_are_accepted(tmp_path):
    rows = [row(" per ", "  Jean.Dupont@Medecin.MSSante.fr "), row("Org", "accueil@ch-nantes.mssante.fr")]
    result = services.annuaire_import(path=extraction(tmp_path, rows))
    assert result.summary["errors"] == []
    assert stored(result.snapshot) == [
        ("accueil@ch-nantes.mssante.fr", "ORG", "ch-nantes.mssante.fr"),
        ("jean.dupont@medecin.mssante.fr", "PER", "medecin.mssante.fr"),
    ]
