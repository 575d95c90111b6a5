"""The per-operator count file (CSV): how APP and unpublished mailboxes reach us.

Format (docs/mailboxes.md, "Count file"): UTF-8 (a BOM is accepted), `;` or `,` separated, a header
line `siren;type;count;as_of`, then one line per operator, type and date:
`123456782;APP;120;2023-06-30`. Dates as AAAA-MM-JJ or JJ/MM/AAAA; types APP, ORG or PER;
counts are whole numbers ≥ 0; the SIREN must be an enrolled operator's.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from funding.enums import MAX_COUNT, MailboxType
from operators.models import Operator

HEADER = ("siren", "type", "count", "as_of")


@dataclass(frozen=True)
class CountRow:
    line: int
    operator: Operator
    mailbox_type: str
    count: int
    as_of: date


def _date(value):
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"date invalide « {value} » (AAAA-MM-JJ ou JJ/MM/AAAA attendu)")


def parse(content):
    """Parse the file's bytes; return (rows, errors) — errors as [{"line", "error"}], header = line 1."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [{"line": 1, "error": "le fichier n'est pas encodé en UTF-8"}]
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return [], [{"line": 1, "error": "fichier vide : en-tête « siren;type;count;as_of » attendu"}]
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    header = tuple(name.strip().lower() for name in lines[0].split(delimiter))
    if header != HEADER:
        return [], [
            {"line": 1, "error": f"en-tête invalide : « {lines[0][:120]} » au lieu de « siren;type;count;as_of »"}
        ]
    sirens = {
        row.siren: row
        for row in Operator.objects.filter(
            siren__in={line.split(delimiter, 1)[0].strip() for line in lines[1:] if line.strip()}
        )
    }
    rows, errors, seen = [], [], {}
    for number, fields in enumerate(csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=delimiter), start=2):
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(HEADER):
            errors.append({"line": number, "error": f"{len(fields)} colonnes au lieu de {len(HEADER)}"})
            continue
        siren, kind, count, as_of = (field.strip() for field in fields)
        problems = []
        operator = sirens.get(siren)
        if operator is None:
            problems.append(f"SIREN inconnu « {siren[:20]} »")
        kind = kind.upper()
        if kind not in MailboxType.values:
            problems.append(f"type de BAL invalide « {kind[:10]} » (APP, ORG ou PER)")
        if not count.isdigit() or int(count) > MAX_COUNT:
            problems.append(f"nombre invalide « {count[:20]} » (entier de 0 à {MAX_COUNT})")
        try:
            day = _date(as_of)
        except ValueError as exc:
            problems.append(str(exc))
            day = None
        if not problems:
            key = (siren, kind, day)
            if key in seen:
                problems.append(f"doublon de la ligne {seen[key]} (même SIREN, type et date)")
            seen[key] = number
        if problems:
            errors.append({"line": number, "error": " ; ".join(problems)})
            continue
        rows.append(CountRow(line=number, operator=operator, mailbox_type=kind, count=int(count), as_of=day))
    return rows, errors
