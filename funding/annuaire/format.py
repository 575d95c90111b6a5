"""The extraction's format (docs/spec/ANNUAIRE.md): its 31 columns, the mailbox types, what a valid
address is, the file name's date and time, the header check. No I/O, no database."""

import re
from datetime import date, datetime, timedelta

from common.formatting import paris_date
from funding.calendar import PARIS

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
# what makes the COPY text stream (funding.annuaire.loader) safe without escaping.
ADDRESS_BYTES_RE = re.compile(rb"[a-z0-9!#$%&'*+/=?^_`{}~.-]{1,64}@[a-z0-9-]+(?:\.[a-z0-9-]+)+\Z")
MAX_ADDRESS_LENGTH = 254
# The same rules on a raw line whose type is upper-case and fields unpadded (nearly all of them),
# for polars (Rust regular expressions, anchored at the start of the line).
CLEAN_LINE_PATTERN = r"^(PER|ORG|APP|CAB)\|([a-zA-Z0-9!#$%&'*+/=?^_`{}~.-]{1,64}@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)\|"
# The columns of the parsed rows, in the order they are loaded (types: see _row_schema).
ROW_COLUMNS = ("line", "address", "mailbox_type", "domain")

FILE_NAME_RE = re.compile(r"Extraction_Correspondance_MSSante_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})", re.IGNORECASE)


class ExtractionError(Exception):
    """The file cannot be imported at all (unreadable, bad header, too many errors): French message."""


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
        f"l'Annuaire à la fin du {paris_date(reflects)}, jour {when} au {paris_date(as_of)} pour lequel elle est "
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
