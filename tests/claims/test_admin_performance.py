"""The claim changelist stays cheap however many claims there are: the number of queries does not grow
with the rows shown, and a filtered page never counts the whole table.

Neither property depends on volume: a query per row shows as soon as a page holds 3 rows rather than
30, and the SQL of the paginator's count is the same at 30 rows as at 100 000 (bench/ measures the
timings at that size on PostgreSQL)."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from stdnum import luhn

from claims.enums import ClaimKind, ClaimState
from claims.models import Claim
from funding.models import Campaign, FundingSchedule
from operators.enums import OperatorKind
from operators.models import Operator
from tests.factories import agent

pytestmark = pytest.mark.django_db

STATES = [ClaimState.DRAFT, ClaimState.SUBMITTED, ClaimState.IN_REVIEW, ClaimState.APPROVED, ClaimState.PAID]
OPERATORS, CAMPAIGNS = 15, 3


def make_claims(total):
    """Replace all claims by `total` ones (at most 90), in bulk: consecutive claims belong to different
    operators, then to different campaigns (whose advance deadlines fall in the next days), then kinds;
    their states cycle through STATES."""
    Claim.objects.all().delete()
    schedule = FundingSchedule.objects.get(code="segur-2023")
    operators = list(Operator.objects.filter(legal_name__startswith="Perf ").order_by("pk"))
    if not operators:
        operators = Operator.objects.bulk_create(
            [
                Operator(legal_name=f"Perf {n}", siren=_siren(20_000_000 + n), kind=OperatorKind.DEVELOPER)
                for n in range(OPERATORS)
            ]
        )
    today = date.today()
    campaigns = [
        Campaign.objects.get_or_create(
            code=f"perf-{n}",
            defaults={
                "label": f"Perf {n}",
                "schedule": schedule,
                "developer_schedule": schedule,
                "opening_date": date(2023, 7, 1),
                "closure_date": date(2024, 1, 1),
                "advance_deadline": today + timedelta(days=n),
                "balance_deadline": today + timedelta(days=n + 30),
            },
        )[0]
        for n in range(CAMPAIGNS)
    ]
    kinds = (ClaimKind.ADVANCE, ClaimKind.BALANCE)
    assert total <= OPERATORS * CAMPAIGNS * len(kinds)
    Claim.objects.bulk_create(
        Claim(
            operator=operators[index % OPERATORS],
            campaign=campaigns[index // OPERATORS % CAMPAIGNS],
            kind=kinds[index // (OPERATORS * CAMPAIGNS)],
            amount=1000,
            state=STATES[index % len(STATES)],
        )
        for index in range(total)
    )


def _siren(base):
    return f"{base}" + luhn.calc_check_digit(f"{base}")


def changelist(client, query=""):
    """(rows listed, queries run) for one changelist page."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:claims_claim_changelist") + query)
    assert response.status_code == 200
    return len(response.context["cl"].result_list), queries


@pytest.mark.parametrize(
    ("query", "rows_at_3", "rows_at_30"),
    [
        ("", 3, 30),
        ("?state__exact=submitted", 1, 6),
        ("?overdue=soon&kind__exact=advance", 1, 6),  # drafts of advances due within 7 days
        ("?q=Perf+1", 1, 12),  # "Perf 1" and "Perf 10" to "Perf 14"
    ],
)
def test_changelist_queries_do_not_grow_with_rows(client, query, rows_at_3, rows_at_30):
    client.force_login(agent())
    make_claims(3)
    rows, small = changelist(client, query)
    assert rows == rows_at_3
    make_claims(30)
    rows, big = changelist(client, query)
    assert rows == rows_at_30
    assert len(big) == len(small), [q["sql"] for q in big.captured_queries]
    assert len(big) <= 10


def test_filtered_changelist_runs_no_full_table_count(client):
    client.force_login(agent())
    make_claims(30)
    rows, queries = changelist(client, "?state__exact=paid")
    assert rows == 6
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and "claims_claim" in q["sql"]]
    assert counts, "the paginator counts the filtered rows"
    for sql in counts:
        assert "WHERE" in sql.upper(), f"full-table count: {sql}"
