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
    assert "Plafond" in out and "(appliqué)" in out
    assert "250 000,00 €" in out
    assert "TTC 300 000,00 €" in out


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
