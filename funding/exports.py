"""A campaign's budget report as a spreadsheet file: one writer for the admin's download and `campaign_report`."""

import csv

from common.formatting import spreadsheet_text


def write_csv(stream, report):
    """The report as CSV (`;`, decimal point, CRLF as RFC 4180 says): one line per operator, then a TOTAL
    line. Text cells go through `spreadsheet_text` (never a formula) and are quoted when they hold a line
    break (the CRLF terminator makes the csv module quote a bare CR too); counts and amounts are numbers."""
    codes = [schedule.code for schedule in report["schedules"]]
    writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        ["siren", "raison_sociale", "APP", "ORG", "PER", "sources", "anomalie", *[f"montant_{code}" for code in codes]]
    )
    for row in report["rows"]:
        writer.writerow(
            [
                spreadsheet_text(row["operator"].siren),
                spreadsheet_text(row["operator"].legal_name),
                *row["counts"].values(),
                spreadsheet_text(",".join(f"{kind}:{source}" for kind, source in row["sources"].items())),
                "oui" if row["flagged"] else "non",
                *[f"{row['amounts'][code]:.2f}" for code in codes],
            ]
        )
    totals = report["totals"]
    writer.writerow(
        [
            "TOTAL",
            f"{len(report['rows'])} opérateurs",
            *totals["counts"].values(),
            "",
            "",
            *[f"{totals['amounts'][code]:.2f}" for code in codes],
        ]
    )
