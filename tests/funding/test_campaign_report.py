"""The campaign budget: counts at closure priced under the campaign's and other schedules."""

import csv
import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from funding.formula import compute_breakdown
from funding.models import FundingSchedule, MailboxCount
from tests.factories import OperatorFactory, segur_campaign

pytestmark = pytest.mark.django_db

CLOSURE = date(2023, 6, 30)


@pytest.fixture
def campaign():
    campaign = segur_campaign(code="budget", closure=CLOSURE)
    for name, counts in (("Alpha", (700, 5000, 40000)), ("Beta", (5, 200, 12000))):
        operator = OperatorFactory(legal_name=name)
        for kind, count in zip(("APP", "ORG", "PER"), counts, strict=True):
            MailboxCount.objects.create(
                operator=operator, mailbox_type=kind, as_of=CLOSURE, count=count, source_note="t"
            )
    OperatorFactory(legal_name="Sans comptage")
    return campaign


def report(*args):
    out = StringIO()
    call_command("campaign_report", "--campaign", "budget", *args, stdout=out)
    return out.getvalue()


def test_json_report_prices_each_operator_under_every_schedule(campaign):
    data = json.loads(report("--format", "json"))
    assert data["schedule"] == "segur-2023"
    assert data["schedules"] == ["segur-2023", "workshop-2022-03"]
    assert [row["legal_name"] for row in data["operators"]] == ["Alpha", "Beta"]
    alpha = data["operators"][0]
    assert alpha["counts"] == {"APP": 700, "ORG": 5000, "PER": 40000}
    assert alpha["amounts"]["workshop-2022-03"] == "228000.00"  # the workshop's own example
    segur = FundingSchedule.objects.get(code="segur-2023")
    expected = compute_breakdown(schedule=segur, counts=alpha["counts"]).total
    assert alpha["amounts"]["segur-2023"] == f"{expected:.2f}"
    assert data["operators"][1]["amounts"]["workshop-2022-03"] == "44200.00"
    assert data["totals"]["amounts"]["workshop-2022-03"] == "272200.00"
    assert data["totals"]["counts"] == {"APP": 705, "ORG": 5200, "PER": 52000}
    assert data["totals"]["operators"] == 2


def test_csv_report_has_a_line_per_operator_and_a_total(campaign):
    rows = list(csv.reader(StringIO(report("--schedule", "workshop-2022-03")), delimiter=";"))
    assert rows[0][-2:] == ["montant_segur-2023", "montant_workshop-2022-03"]
    assert [row[1] for row in rows[1:-1]] == ["Alpha", "Beta"]
    assert rows[-1][0] == "TOTAL"
    assert Decimal(rows[-1][-1]) == Decimal("272200.00")


def test_unknown_campaign_or_schedule_is_an_error(campaign):
    with pytest.raises(CommandError):
        call_command("campaign_report", "--campaign", "nope", stdout=StringIO())
    with pytest.raises(CommandError):
        report("--schedule", "nope")
