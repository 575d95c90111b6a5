import json

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def simulate(*args):
    from io import StringIO

    out = StringIO()
    call_command("simulate_funding", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("app", "org", "per", "total"),
    [("700", "5000", "40000", "228000.00"), ("5", "200", "12000", "44200.00"), ("1", "100", "900", "9240.00")],
)
def test_command_prints_the_workshop_totals_as_json(app, org, per, total):
    out = simulate("--schedule", "workshop-2022-03", "--app", app, "--org", org, "--per", per, "--format", "json")
    assert json.loads(out)["total"] == total


def test_command_prints_a_readable_table_by_default():
    out = simulate("--schedule", "segur-2023", "--app", "700", "--org", "5000", "--per", "40000")
    # The product's one money format (common.formatting): narrow groups, decimal comma, "\u00a0€".
    table = out.replace("\u202f", "_").replace("\u00a0", "~")
    assert table.splitlines() == [
        "Barème : Financement Ségur opérateurs MSSanté 2023 (segur-2023)",
        "",
        "Type        Nombre        Tarif HT      Montant HT",
        "APP            700         58,33~€     40_831,00~€",
        "ORG          5_000         20,83~€    104_150,00~€",
        "PER         40_000          5,00~€    200_000,00~€",
        "Forfait                                 6_666,67~€",
        "Sous-total                            351_647,67~€",
        "Plafond                               250_000,00~€  (appliqué)",
        "Total HT                              250_000,00~€   TTC 300_000,00~€",
        "Avance HT                              75_000,00~€",
        "Solde HT                              175_000,00~€",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schedule", "workshop-2022-03", "--app", "-1"], "--app"),
        (["--schedule", "workshop-2022-03", "--org", "1.5"], "--org"),
        (["--schedule", "workshop-2022-03", "--per", "abc"], "--per"),
        (["--schedule", "workshop-2022-03", "--per", "99999999999"], "--per"),
        (["--schedule", "nope"], "barème inconnu"),
    ],
)
def test_bad_input_is_a_one_line_error(args, message):
    with pytest.raises(CommandError) as error:
        simulate(*args)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_input_exits_non_zero_without_traceback():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "simulate_funding", "--schedule", "workshop-2022-03", "--app", "-1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
