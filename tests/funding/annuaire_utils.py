"""Small hand-written extractions for the Annuaire tests."""

import zipfile

from funding.annuaire import COLUMN_COUNT, HEADER
from operators.models import MailDomain
from tests.factories import OperatorFactory

NAME = "Extraction_Correspondance_MSSante_202306300400.txt"
# Generated the night after a 30 June closure: the closure snapshot by default.
AFTER_CLOSURE = "Extraction_Correspondance_MSSante_202307010400.txt"


def row(kind="PER", address="jean.dupont@medecin.mssante.fr", columns=COLUMN_COUNT):
    fields = [kind, address, "8", "10000000001", "810000000001"] + ["x"] * (COLUMN_COUNT - 5)
    return "|".join(fields[:columns] + [""] * max(0, columns - len(fields)))


def extraction(tmp_path, rows, *, name=NAME, header=HEADER, trailing_pipe=False, crlf=False, bom=False, as_zip=False):
    ending = "\r\n" if crlf else "\n"
    tail = "|" if trailing_pipe else ""
    text = ("\ufeff" if bom else "") + "".join(line + tail + ending for line in [header, *rows])
    path = tmp_path / name
    if as_zip:
        path = path.with_suffix(".zip")
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(name, text.encode())
    else:
        path.write_bytes(text.encode())
    return path


def operator_with_domains(*names, valid_from=None, valid_until=None, **kwargs):
    operator = OperatorFactory(**kwargs)
    for name in names:
        MailDomain.objects.create(operator=operator, name=name, valid_from=valid_from, valid_until=valid_until)
    return operator
