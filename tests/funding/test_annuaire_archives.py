"""Zipped extractions: inflated once, recognised before inflating, and every damaged archive worded."""

import json
import zipfile
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

from funding import annuaire, services
from funding.annuaire import parser
from funding.models import AnnuaireDomainCount, AnnuaireMailbox, AnnuaireSnapshot
from tests.funding.annuaire_utils import NAME, extraction, row

pytestmark = pytest.mark.django_db

ROWS = [row("PER", f"p{n}@medecin.mssante.fr") for n in range(200)] + [row("ORG", "accueil@ch.mssante.fr")]


def nothing_written():
    return not (
        AnnuaireSnapshot.objects.exists() or AnnuaireMailbox.objects.exists() or AnnuaireDomainCount.objects.exists()
    )


def zipped(tmp_path, rows=ROWS, *, stored=False):
    return extraction(tmp_path, rows, as_zip=True) if not stored else _stored_zip(tmp_path, rows)


def _stored_zip(tmp_path, rows):
    text = "".join(line + "\n" for line in [annuaire.HEADER, *rows]).encode()
    path = tmp_path / NAME.replace(".txt", ".zip")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(NAME, text)
    return path


def corrupt_last_data_byte(path):
    """Change one byte of a stored member's last line: the header still reads, the CRC no longer matches."""
    data = bytearray(path.read_bytes())
    at = data.rfind(b"medecin.mssante.fr")
    data[at] = ord("M") if data[at] != ord("M") else ord("m")
    path.write_bytes(bytes(data))
    return path


def import_error(path, *args):
    """The command's error (a CommandError: one line, exit code 1 from the command line)."""
    with pytest.raises(CommandError) as error:
        call_command("import_annuaire", str(path), *args, stdout=StringIO(), stderr=StringIO())
    return str(error.value)


class CountingReader(parser._ZipMemberReader):
    opened = 0
    inflated = 0

    def __init__(self, raw, member):
        super().__init__(raw, member)
        type(self).opened += 1

    def read(self, size=-1):
        data = super().read(size)
        type(self).inflated += len(data)
        return data

    def readline(self, size=-1):
        data = super().readline(size)
        type(self).inflated += len(data)
        return data


@pytest.fixture
def counting(monkeypatch):
    CountingReader.opened = CountingReader.inflated = 0
    monkeypatch.setattr(parser, "_ZipMemberReader", CountingReader)
    return CountingReader


def test_a_zipped_extraction_is_inflated_once(tmp_path, counting):
    path = zipped(tmp_path)
    result = services.annuaire_import(path=path)
    size = zipfile.ZipFile(path).infolist()[0].file_size
    assert result.created
    assert (counting.opened, counting.inflated) == (1, size)
    # The hash computed while parsing is the text's: the same file unzipped is recognised.
    assert not services.annuaire_import(path=extraction(tmp_path, ROWS)).created
    assert AnnuaireSnapshot.objects.get().text_key == f"{NAME}|{size}|{zipfile.ZipFile(path).infolist()[0].CRC:08x}"


def test_a_zip_already_imported_is_recognised_without_inflating_it(tmp_path, counting):
    path = zipped(tmp_path)
    services.annuaire_import(path=path)
    counting.opened = counting.inflated = 0
    again = services.annuaire_import(path=path)
    assert not again.created
    assert counting.inflated == 0
    assert AnnuaireSnapshot.objects.count() == 1


def test_a_zip_of_a_text_imported_unzipped_is_recognised_without_inflating_it(tmp_path, counting):
    services.annuaire_import(path=extraction(tmp_path, ROWS))
    assert not services.annuaire_import(path=zipped(tmp_path)).created
    assert counting.inflated == 0  # same name, size and CRC-32 as the plain file


def test_a_zip_whose_text_was_imported_under_another_name_is_rolled_back_after_parsing(tmp_path):
    services.annuaire_import(path=extraction(tmp_path, ROWS, name="autre-nom.txt"), as_of=date(2023, 6, 30))
    again = services.annuaire_import(path=zipped(tmp_path))
    assert not again.created
    assert AnnuaireSnapshot.objects.count() == 1
    assert AnnuaireMailbox.objects.count() == len(ROWS)


def test_a_damaged_archive_names_the_bad_crc_and_writes_nothing(tmp_path):
    path = corrupt_last_data_byte(zipped(tmp_path, stored=True))
    message = import_error(path)
    assert message == f"Archive endommagée (CRC incorrect) : {NAME}."
    assert nothing_written()


def test_a_truncated_archive_is_named_as_such_and_writes_nothing(tmp_path):
    path = zipped(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    message = import_error(path)
    assert message.startswith("Fichier tronqué : l'archive")
    assert "UTF-8" not in message
    assert nothing_written()


def test_compressed_data_that_stop_short_are_a_truncated_file(tmp_path):
    text = "".join(line + "\n" for line in [annuaire.HEADER, *ROWS]).encode()
    path = tmp_path / NAME.replace(".txt", ".zip")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(NAME, text)
    info = zipfile.ZipFile(path).infolist()[0]
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    # The end of the deflate stream is lost (zeroed), the directory still says where things are.
    for at in range(start + info.compress_size - 40, start + info.compress_size):
        data[at] = 0
    path.write_bytes(bytes(data))
    message = import_error(path)
    assert message.startswith(("Fichier tronqué", "Archive endommagée"))
    assert nothing_written()


def test_a_file_named_zip_that_is_not_one_is_refused(tmp_path):
    path = tmp_path / NAME.replace(".txt", ".zip")
    path.write_text(annuaire.HEADER + "\n")
    assert import_error(path) == f"Ce fichier n'est pas une archive zip : {path.name}."
    assert nothing_written()


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        (
            ["a.txt", "b.txt"],
            "L'archive doit contenir un seul fichier .txt (2 trouvé(s) ; contenu : « a.txt », « b.txt »).",
        ),
        (
            ["extraction.csv"],
            "L'archive doit contenir un seul fichier .txt (0 trouvé(s) ; contenu : « extraction.csv »).",
        ),
        ([], "L'archive doit contenir un seul fichier .txt (0 trouvé(s) ; contenu : aucun fichier)."),
    ],
)
def test_an_archive_without_exactly_one_text_file_lists_what_it_holds(tmp_path, members, expected):
    path = tmp_path / NAME.replace(".txt", ".zip")
    with zipfile.ZipFile(path, "w") as archive:
        for member in members:
            archive.writestr(member, annuaire.HEADER + "\n")
    assert import_error(path) == expected
    assert nothing_written()


def test_a_damaged_archive_exits_non_zero_with_one_line_and_no_traceback(tmp_path, capsys):
    """What `manage.py import_annuaire` does (execute_from_command_line), in this process; a real process
    exits the same way (tests/funding/test_simulate_command.py)."""
    path = corrupt_last_data_byte(zipped(tmp_path, stored=True))
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "import_annuaire", str(path), "--format", "json"])
    done = capsys.readouterr()
    assert exit_.value.code == 1
    assert "Traceback" not in done.err
    assert done.err.strip() == f"CommandError: Archive endommagée (CRC incorrect) : {NAME}."
    assert json.loads(done.out)["error"] == f"Archive endommagée (CRC incorrect) : {NAME}."


# --- Generation time -------------------------------------------------------------------------


def test_the_summary_says_which_generation_time_was_used_and_warns_when_it_is_not_the_day_after(tmp_path):
    out = StringIO()
    path = extraction(tmp_path, ROWS, name="Extraction_Correspondance_MSSante_202307010400.txt")
    call_command("import_annuaire", str(path), "--as-of", "2023-06-30", stdout=out)
    assert "Heure de génération utilisée : 01/07/2023 04:00 (heure de Paris)." in out.getvalue()
    assert "Attention" not in out.getvalue()  # generated the night after the day it is imported for

    out = StringIO()
    path = extraction(tmp_path, ROWS[:10], name="Extraction_Correspondance_MSSante_202306300400.txt")
    call_command("import_annuaire", str(path), "--as-of", "2023-06-30", stdout=out)
    assert (
        "Attention : extraction générée le 30/06/2023 à 04:00 (heure de Paris), elle reflète l'Annuaire à la "
        "fin du 29/06/2023, jour antérieur au 30/06/2023 pour lequel elle est importée."
    ) in out.getvalue()


def test_a_file_generated_later_than_the_day_after_is_newer_than_the_day_it_is_imported_for(tmp_path):
    path = extraction(tmp_path, ROWS, name="Extraction_Correspondance_MSSante_202307050400.txt")
    summary = services.annuaire_import(path=path, as_of=date(2023, 6, 30)).summary
    assert "fin du 04/07/2023, jour postérieur au 30/06/2023" in summary["warnings"][0]


def test_a_file_name_without_a_time_has_no_generation_time_and_no_warning(tmp_path):
    out = StringIO()
    call_command(
        "import_annuaire", str(extraction(tmp_path, ROWS, name="bal.txt")), "--as-of", "2023-06-30", stdout=out
    )
    assert "Heure de génération inconnue" in out.getvalue()
    assert "Attention" not in out.getvalue()


def test_the_admin_snapshot_page_shows_the_generation_time_and_the_warning(tmp_path, admin_client):
    snapshot = services.annuaire_import(path=extraction(tmp_path, ROWS), as_of=date(2023, 6, 30)).snapshot
    page = admin_client.get(f"/admin/funding/annuairesnapshot/{snapshot.pk}/change/").content.decode()
    assert "30/06/2023 04:00 (heure de Paris, lue dans le nom du fichier)" in page
    assert "fin du 29/06/2023, jour antérieur au 30/06/2023" in page
