"""The per-operator count file: every line checked, nothing written on error, the source kept."""

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from funding import selectors
from funding.enums import CountSource
from funding.models import MailboxCount
from tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


def write(tmp_path, text, name="comptages.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path, *args):
    out = StringIO()
    call_command("import_counts", str(path), "--format", "json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_counts_are_recorded_with_their_source(tmp_path):
    alpha, beta = OperatorFactory(), OperatorFactory()
    path = write(
        tmp_path,
        "\ufeffsiren;type;count;as_of\n"
        f"{alpha.siren};APP;120;2023-06-30\n"
        f"{alpha.siren};per;5;30/06/2023\n"
        "\n"
        f"{beta.siren};APP;0;2023-06-30\n",
    )
    assert run(path) == {"rows": 3, "written": 3, "errors": []}
    entry = MailboxCount.objects.get(operator=alpha, mailbox_type="APP")
    assert entry.source == CountSource.COUNT_FILE
    assert entry.source_note.startswith("Fichier comptages.csv (SHA-256 ")
    assert entry.source_note.endswith("ligne 2")
    basis = selectors.basis_on(date(2023, 6, 30), max_age_days=0)
    assert selectors.counts_at(operator=alpha, basis=basis) == {"APP": 120, "PER": 5}


def test_comma_separated_files_are_accepted(tmp_path):
    operator = OperatorFactory()
    path = write(tmp_path, f"SIREN,Type,Count,As_of\n{operator.siren},ORG,3,2023-06-30\n")
    assert run(path)["written"] == 1


def test_any_bad_line_is_reported_with_its_number_and_nothing_is_written(tmp_path):
    operator = OperatorFactory()
    path = write(
        tmp_path,
        "siren;type;count;as_of\n"
        f"{operator.siren};APP;10;2023-06-30\n"  # 2: fine
        "999999999;APP;10;2023-06-30\n"  # 3: unknown SIREN
        f"{operator.siren};CAB;10;2023-06-30\n"  # 4: not a funded type
        f"{operator.siren};ORG;-1;2023-06-30\n"  # 5: negative
        f"{operator.siren};ORG;3;31/02/2023\n"  # 6: no such date
        f"{operator.siren};APP;11;2023-06-30\n"  # 7: same as line 2
        f"{operator.siren};APP\n",  # 8: missing columns
    )
    out = StringIO()
    with pytest.raises(CommandError, match="rien n'a été enregistré"):
        call_command("import_counts", str(path), "--format", "json", stdout=out)
    errors = json.loads(out.getvalue())["errors"]
    assert [error["line"] for error in errors] == [3, 4, 5, 6, 7, 8]
    assert "SIREN inconnu" in errors[0]["error"]
    assert "doublon de la ligne 2" in errors[4]["error"]
    assert not MailboxCount.objects.exists()


def test_a_wrong_header_is_line_one(tmp_path):
    path = write(tmp_path, "operateur;nombre\n123;4\n")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_counts", str(path), "--format", "json", stdout=out)
    assert json.loads(out.getvalue())["errors"][0]["line"] == 1


def test_a_later_file_replaces_the_figure_of_the_same_day(tmp_path):
    operator = OperatorFactory()
    run(write(tmp_path, f"siren;type;count;as_of\n{operator.siren};APP;10;2023-06-30\n"))
    run(write(tmp_path, f"siren;type;count;as_of\n{operator.siren};APP;12;2023-06-30\n", name="v2.csv"))
    entry = MailboxCount.objects.get()
    assert entry.count == 12
    assert "v2.csv" in entry.source_note
