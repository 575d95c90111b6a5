"""The claim changelist stays cheap at 10 000 claims: constant queries, no full-table count."""

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


def make_claims(total):
    """Replace all claims by `total` ones over 100 operators × N campaigns × 2 kinds, in bulk."""
    Claim.objects.all().delete()
    schedule = FundingSchedule.objects.get(code="segur-2023")
    operators = list(Operator.objects.filter(legal_name__startswith="Perf "))
    if not operators:
        operators = Operator.objects.bulk_create(
            [
                Operator(legal_name=f"Perf {n}", siren=_siren(20_000_000 + n), kind=OperatorKind.DEVELOPER)
                for n in range(100)
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
        for n in range(max(1, total // 200))
    ]
    claims = [
        Claim(operator=operator, campaign=campaign, kind=kind, amount=1000)
        for campaign in campaigns
        for operator in operators
        for kind in (ClaimKind.ADVANCE, ClaimKind.BALANCE)
    ][:total]
    for index, claim in enumerate(claims):
        claim.state = STATES[index % len(STATES)]
    Claim.objects.bulk_create(claims, batch_size=2000)


def _siren(base):
    return f"{base}" + luhn.calc_check_digit(f"{base}")


def changelist_queries(client, query=""):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:claims_claim_changelist") + query)
    assert response.status_code == 200
    return queries


@pytest.mark.parametrize("query", ["", "?state__exact=submitted", "?overdue=soon&kind__exact=advance", "?q=Perf+1"])
def test_changelist_queries_do_not_grow_with_rows(client, query):
    client.force_login(agent())
    make_claims(200)
    small = len(changelist_queries(client, query))
    make_claims(10_000)
    assert Claim.objects.count() == 10_000
    big = changelist_queries(client, query)
    assert len(big) == small
    assert len(big) <= 10


def test_filtered_changelist_runs_no_full_table_count(client):
    client.force_login(agent())
    make_claims(10_000)
    queries = changelist_queries(client, "?state__exact=paid")
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and "claims_claim" in q["sql"]]
    assert counts, "the paginator counts the filtered rows"
    for sql in counts:
        assert "WHERE" in sql.upper(), f"full-table count: {sql}"
