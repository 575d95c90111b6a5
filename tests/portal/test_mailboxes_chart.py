"""The operator's mailbox chart: its own counts per type on each day a figure came in, the funding each
would give (funding.formula) and where it stands against the cap; scoped to its own operator."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from common.formatting import euros, percent
from funding import services as funding_services
from funding.enums import CountSource
from funding.formula import compute_breakdown
from funding.models import Campaign, MailboxCount
from operators.models import MailDomain
from tests.factories import agent
from tests.funding.annuaire_utils import extraction, row
from tests.portal.utils import text

pytestmark = pytest.mark.django_db

URL = reverse("portal:mailboxes")


@pytest.fixture
def history(alpha, campaign, tmp_path):
    """Alpha: an Annuaire extraction 20 days before closure (PER 5, ORG 2), the ANS count file 5 days
    before (APP 120) and the agent's entries of the closure day (APP 10, ORG 100, PER 1 000)."""
    Campaign.objects.exclude(pk=campaign.pk).delete()
    MailDomain.objects.create(operator=alpha.operator, name="alpha.mssante.fr")
    rows = [row("PER", f"p{n}@alpha.mssante.fr") for n in range(5)] + [
        row("ORG", "o@alpha.mssante.fr"),
        row("ORG", "x@alpha.mssante.fr"),
    ]
    funding_services.annuaire_import(
        path=extraction(tmp_path, rows, name="bal.txt"), as_of=campaign.closure_date - timedelta(days=20)
    )
    MailboxCount.objects.create(
        operator=alpha.operator,
        mailbox_type="APP",
        as_of=campaign.closure_date - timedelta(days=5),
        count=120,
        source=CountSource.COUNT_FILE,
        source_note="Fichier comptages.csv, ligne 2",
    )
    return campaign


def chart_of(response):
    return json.loads(
        re.search(r'<script id="chart-mailboxes" type="application/json">(.*?)</script>', text(response), re.S).group(1)
    )


def test_the_chart_shows_each_days_counts_and_the_funding_they_would_give(client, alpha, history):
    client.force_login(alpha.user)
    response = client.get(URL)
    assert response.status_code == 200
    chart = chart_of(response)
    closure = history.closure_date
    assert chart["labels"] == [
        (closure - timedelta(days=20)).isoformat(),
        (closure - timedelta(days=5)).isoformat(),
        closure.isoformat(),
    ]
    assert chart["types"] == ["APP", "ORG", "PER"]
    # The count of each type established that day (latest figure within the campaign's maximum age).
    assert chart["counts"] == {"APP": [None, 120, 10], "ORG": [2, 2, 100], "PER": [5, 5, 1000]}
    schedule = history.schedule_for(alpha.operator.kind)
    expected = [
        compute_breakdown(schedule=schedule, counts=counts).total
        for counts in ({"ORG": 2, "PER": 5}, {"APP": 120, "ORG": 2, "PER": 5}, {"APP": 10, "ORG": 100, "PER": 1000})
    ]
    assert chart["funding"] == [float(amount) for amount in expected]
    assert chart["cap"] == float(schedule.cap)
    page = text(response)
    assert f"{euros(expected[-1])} HT" in page and euros(expected[-1]) == euros(Decimal("14332.97"))
    assert f"{percent(expected[-1] / schedule.cap)} du plafond de {euros(schedule.cap)}" in page
    assert "Fichier de comptage par opérateur" in page  # where the APP figure came from
    assert "Types sans comptage établi" not in page  # all three established on the latest day


def test_the_page_draws_from_static_files_only(client, alpha, history):
    client.force_login(alpha.user)
    html = client.get(URL).content.decode()
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        assert ('src="' in attributes and not body.strip()) or 'type="application/json"' in attributes
    assert "/static/claims/charts.js" in html


def test_each_operator_sees_its_own_figures_only(client, alpha, beta, history):
    client.force_login(beta.user)
    chart = chart_of(client.get(URL))
    # Beta holds no domain of the extraction and has no count-file line (alpha's day is not listed):
    # its own agent's entries only.
    assert chart["labels"] == [
        (history.closure_date - timedelta(days=20)).isoformat(),
        history.closure_date.isoformat(),
    ]
    assert chart["counts"] == {"APP": [None, 10], "ORG": [None, 100], "PER": [None, 1000]}


def test_the_dashboard_links_to_the_chart(client, alpha, history):
    client.force_login(alpha.user)
    assert URL in text(client.get(reverse("portal:dashboard")))


def test_anonymous_is_sent_to_login_and_an_agent_without_operator_gets_404(client, history):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("portal:login") in response["Location"]
    client.force_login(agent())
    assert client.get(URL).status_code == 404
