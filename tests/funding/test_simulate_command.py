import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line

from funding.api.serializers import OPERATOR_KIND_NEEDED, SCHEDULE_AND_CAMPAIGN, SCHEDULE_OR_CAMPAIGN
from funding.models import FundingSchedule
from tests.factories import segur_campaign

pytestmark = pytest.mark.django_db


def simulate(*args):
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
        "Total HT                              250_000,00~€   TTC 300_000,00~€ (TVA 20~%, opérateur assujetti)",
        "Avance HT                              75_000,00~€",
        "Solde HT                              175_000,00~€",
    ]


COUNTS = ["--app", "700", "--org", "5000", "--per", "40000"]


@pytest.fixture
def split_campaign():
    """A campaign whose developers are priced under the workshop schedule, its buyers under segur-2023."""
    campaign = segur_campaign(code="split")
    campaign.developer_schedule = FundingSchedule.objects.get(code="workshop-2022-03")
    campaign.save()
    return campaign


@pytest.mark.parametrize(("kind", "schedule"), [("developer", "workshop-2022-03"), ("buyer", "segur-2023")])
def test_campaign_and_operator_kind_pick_the_schedule(split_campaign, kind, schedule):
    out = simulate("--campaign", "split", "--operator-kind", kind, *COUNTS, "--format", "json")
    assert json.loads(out) == json.loads(simulate("--schedule", schedule, *COUNTS, "--format", "json"))


def test_the_table_names_the_campaign_and_the_operator_kind(split_campaign):
    out = simulate("--campaign", "split", "--operator-kind", "developer", *COUNTS)
    table = out.replace("\u202f", "_").replace("\u00a0", "~").splitlines()
    assert table[:2] == [
        f"Campagne : {split_campaign.label} (split) — opérateur développeur",
        "Barème : Atelier modèle économique #3 (18 mars 2022) (workshop-2022-03)",
    ]
    assert table[-4:-2] == [
        "Plafond                               300_000,00~€",
        "Total HT                              228_000,00~€   TTC 273_600,00~€ (TVA 20~%, opérateur assujetti)",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schedule", "workshop-2022-03", "--app", "-1", "--org", "0", "--per", "0"], "--app :"),
        (["--schedule", "workshop-2022-03", "--app", "0", "--org", "1.5", "--per", "0"], "--org :"),
        (["--schedule", "workshop-2022-03", "--app", "0", "--org", "0", "--per", "abc"], "--per :"),
        (["--schedule", "workshop-2022-03", "--app", "0", "--org", "0", "--per", "99999999999"], "--per :"),
        (["--schedule", "nope", *COUNTS], "--schedule : Barème inconnu : « nope »."),
        (["--schedule", "workshop-2022-03"], "arguments obligatoires manquants : --app, --org, --per"),
        (["--schedule", "workshop-2022-03", "--app", "1", "--org", "1"], "argument obligatoire manquant : --per"),
        (["--schedule", "workshop-2022-03", *COUNTS, "--format", "xml"], "--format : table ou json attendu"),
        (COUNTS, f"--schedule : {SCHEDULE_OR_CAMPAIGN}"),
        (["--operator-kind", "buyer", *COUNTS], f"--schedule : {SCHEDULE_OR_CAMPAIGN}"),
        (["--campaign", "split", *COUNTS], f"--operator-kind : {OPERATOR_KIND_NEEDED}"),
        (["--campaign", "nope", "--operator-kind", "buyer", *COUNTS], "--campaign : Campagne inconnue : « nope »."),
        (["--campaign", "split", "--operator-kind", "reseller", *COUNTS], "--operator-kind : Type d'opérateur inconnu"),
        (
            ["--schedule", "segur-2023", "--campaign", "split", "--operator-kind", "buyer", *COUNTS],
            f"--schedule : {SCHEDULE_AND_CAMPAIGN}",
        ),
    ],
)
def test_bad_input_is_a_one_line_error(split_campaign, args, message):
    with pytest.raises(CommandError) as error:
        simulate(*args)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "args",
    [
        ["--schedule", "workshop-2022-03", "--app", "-1", "--org", "0", "--per", "0"],
        ["--schedule", "workshop-2022-03", "--app", "1"],  # --org and --per missing
        ["--schedule", "workshop-2022-03", "--app", "1", "--org", "1", "--per", "1", "--format", "xml"],
        ["--app", "1", "--org", "1", "--per", "1"],  # no schedule
    ],
)
def test_bad_input_exits_non_zero_without_traceback(args, capsys):
    """What `manage.py` runs (execute_from_command_line), in this process: a one-line error, exit 1 or 2."""
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "simulate_funding", *args])
    stderr = capsys.readouterr().err
    assert exit_.value.code not in (0, None)
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.process
def test_a_real_process_exits_non_zero_with_one_line():
    """The same through a real `python manage.py` process (its exit status is what a shell script sees)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "simulate_funding", "--app", "1", "--org", "1", "--per", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
