"""The agents' dashboard charts: each chart's figures on a fixed data set, equal to the dashboard's
own figures, their CSV downloads, and a page without inline script (CSP)."""

import copy
import csv
import io
import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from claims import dashboard, services
from funding.calendar import PARIS
from funding.formula import compute_breakdown
from funding.models import AnnuaireSnapshot, Campaign, GrowthCheck
from tests.factories import OperatorFactory, agent, ready_advance, segur_campaign, validator

pytestmark = pytest.mark.django_db


def at(day, hour=10):
    return datetime.combine(day, time(hour), tzinfo=PARIS)


def make_data_set():
    """Five advances of one campaign: filed in two weeks, three decided after 3, 5 and 1 days."""
    campaign = segur_campaign()
    Campaign.objects.exclude(pk=campaign.pk).delete()
    instructor, payer = agent(), validator()
    first = campaign.closure_date + timedelta(days=1)
    second = first + timedelta(days=7)

    def filed(day):
        claim, user = ready_advance(campaign=campaign, at=at(day, 9))
        return services.claim_submit(claim=claim, actor=user, at=at(day))

    def decided(claim, decision, days):
        claim = services.claim_take(claim=claim, actor=instructor, at=claim.submitted_at + timedelta(hours=1))
        when = claim.submitted_at + timedelta(days=days)
        if decision == "reject":
            return services.claim_reject(claim=claim, actor=instructor, comment="Non conforme.", at=when)
        return services.claim_approve(claim=claim, actor=instructor, comment="Conforme.", at=when)

    paid = decided(filed(first), "approve", 3)
    paid = services.claim_mark_paid(claim=paid, actor=payer, reference="VIR-1", at=paid.decided_at + timedelta(hours=2))
    approved = decided(filed(second), "approve", 5)
    rejected = decided(filed(second), "reject", 1)
    submitted = filed(first)
    draft, _ = ready_advance(campaign=campaign)
    reference = AnnuaireSnapshot.objects.create(as_of="2023-01-01", file_name="a.txt", sha256="a" * 64)
    closure = AnnuaireSnapshot.objects.create(as_of="2023-06-30", file_name="b.txt", sha256="b" * 64)
    surge, steady, newcomer = (OperatorFactory(legal_name=name) for name in ("Envolée", "Stable", "Nouveau"))
    for operator, before, after, growth, flagged in (
        (surge, 100, 400, Decimal("4"), True),
        (steady, 1000, 1500, Decimal("1.5"), False),
        (newcomer, 0, 30, None, False),
    ):
        GrowthCheck.objects.create(
            campaign=campaign,
            operator=operator,
            reference_snapshot=reference,
            closure_snapshot=closure,
            reference_count=before,
            closure_count=after,
            growth=growth,
            overall_growth=Decimal("1.5"),
            factor=Decimal("2"),
            min_increase=20,
            flagged=flagged,
        )
    return {
        "campaign": campaign,
        "first": first,
        "second": second,
        "paid": paid,
        "approved": approved,
        "rejected": rejected,
        "submitted": submitted,
        "draft": draft,
        "surge": surge,
    }


@pytest.fixture(scope="module")
def built_data_set(module_db):
    """The data set, built once for the module's tests (module_db)."""
    return module_db.build(make_data_set)


@pytest.fixture
def data_set(built_data_set, module_media):
    """The test's own copy of the data set's objects (the database rows are rolled back after each test)."""
    return copy.deepcopy(built_data_set)


def figures_of(campaign, user):
    return next(c for c in dashboard.campaign_dashboard(user=user) if c["campaign"] == campaign)


def test_the_funnel_counts_claims_by_state_and_kind_as_the_dashboard_does(data_set):
    campaign = data_set["campaign"]
    funnel = {row["state"]: row for row in dashboard.state_funnel(campaign=campaign)}
    assert [row["state"] for row in dashboard.state_funnel(campaign=campaign)][:6] == [
        "draft", "submitted", "in_review", "changes_requested", "approved", "paid",
    ]  # fmt: skip
    assert {state: row["advance"] for state, row in funnel.items() if row["total"]} == {
        "draft": 1, "submitted": 1, "approved": 1, "paid": 1, "rejected": 1,
    }  # fmt: skip
    assert all(row["balance"] == 0 for row in funnel.values())
    dashboard_counts = {s["value"]: s["count"] for s in figures_of(campaign, agent())["states"]}
    assert {state: row["total"] for state, row in funnel.items()} == dashboard_counts


def test_amounts_are_the_dashboards_against_the_budget_under_the_schedules_in_force(data_set):
    campaign = data_set["campaign"]
    figures = figures_of(campaign, agent())
    amounts = dashboard.amounts_against_budget(campaign=campaign, figures=figures)
    by_key = {row["key"]: row["amount"] for row in amounts["rows"]}
    paid, approved = data_set["paid"], data_set["approved"]
    assert by_key == {
        "granted": paid.amount + approved.amount,
        "ordered": Decimal("0"),
        "paid": paid.amount,
        "remaining": approved.amount,
    }
    assert by_key["granted"] == figures["granted"] and by_key["paid"] == figures["paid_excl_vat"]
    # Five operators with APP 10, ORG 100, PER 1 000 at closure, each priced under its kind's schedule.
    one = compute_breakdown(schedule=campaign.schedule, counts={"APP": 10, "ORG": 100, "PER": 1000}).total
    assert one == Decimal("14332.97")
    assert amounts["budget"] == 5 * one
    assert amounts["rows"][0]["share"] == by_key["granted"] / (5 * one)


def test_submissions_are_counted_per_week_with_the_deadlines_marked(data_set):
    campaign = data_set["campaign"]
    weeks = dashboard.submissions_per_week(campaign=campaign)
    first_week = data_set["first"] - timedelta(days=data_set["first"].weekday())
    rows = {row["week"]: row for row in weeks["rows"]}
    assert weeks["rows"][0]["week"] == first_week
    assert (rows[first_week]["advance"], rows[first_week + timedelta(days=7)]["advance"]) == (2, 2)
    assert sum(row["total"] for row in weeks["rows"]) == 4  # the draft was never filed
    assert [(m["label"], m["day"]) for m in weeks["marks"]] == [
        ("Clôture", campaign.closure_date),
        ("Date limite des avances", campaign.advance_deadline),
        ("Date limite des soldes", campaign.balance_deadline),
    ]
    # The weeks run to the last deadline, so every mark falls on a drawn week.
    assert {m["week"] for m in weeks["marks"][1:]} <= set(rows)


def test_review_time_runs_from_the_first_filing_to_the_decision_with_its_median(data_set):
    reviews = dashboard.review_times(campaign=data_set["campaign"])
    assert {row["claim"].pk: row["days"] for row in reviews["rows"]} == {
        data_set["paid"].pk: Decimal("3.0"),
        data_set["approved"].pk: Decimal("5.0"),
        data_set["rejected"].pk: Decimal("1.0"),
    }
    assert reviews["median"] == Decimal("3.0")


def test_the_growth_scatter_draws_operators_against_the_overall_growth_and_the_threshold(data_set):
    growth = dashboard.growth_scatter(campaign=data_set["campaign"])
    assert (growth["overall"], growth["threshold"]) == (Decimal("1.5"), Decimal("3.0"))
    assert (growth["rows"][0]["operator"], growth["rows"][0]["flagged"]) == ("Envolée", True)
    newcomer = next(row for row in growth["rows"] if row["operator"] == "Nouveau")
    assert newcomer["newcomer"] and newcomer["growth_label"] == "nouvel entrant"
    points = dashboard.charts_json({**_charts(data_set), "growth": growth})["growth"]["points"]
    assert {p["label"] for p in points} == {"Envolée", "Stable"}  # a newcomer has no ratio to draw
    flagged = next(p for p in points if p["flagged"])
    assert flagged["url"] == reverse("admin:operators_operator_change", args=[data_set["surge"].pk])


def _charts(data_set):
    campaign = data_set["campaign"]
    return dashboard.campaign_charts(campaign=campaign, figures=figures_of(campaign, agent()))


def test_the_chart_data_are_the_tables_figures(data_set):
    charts = _charts(data_set)
    data = dashboard.charts_json(charts)
    assert data["funnel"]["advance"] == [row["advance"] for row in charts["funnel"]]
    assert data["amounts"]["values"] == [float(row["amount"]) for row in charts["amounts"]["rows"]]
    assert data["amounts"]["budget"] == float(charts["amounts"]["budget"])
    assert data["reviews"]["median"] == 3.0
    assert data["weeks"]["advance"][:2] == [2, 2]


def read_csv(response):
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_each_chart_downloads_its_figures_as_csv(client, data_set):
    client.force_login(agent())
    campaign = data_set["campaign"]
    url = lambda chart: reverse("admin:claims_dashboard_csv", args=[campaign.pk, chart])  # noqa: E731
    funnel = read_csv(client.get(url("etats")))
    assert funnel[0] == ["État", "Avances", "Soldes", "Total"]
    assert ["Payée", "1", "0", "1"] in funnel
    amounts = read_csv(client.get(url("montants")))
    granted = data_set["paid"].amount + data_set["approved"].amount
    assert amounts[1][:2] == ["Accordé", f"{granted:.2f}".replace(".", ",")]
    assert amounts[-1][:2] == ["Budget (barèmes en vigueur)", "71664,85"]
    reviews = read_csv(client.get(url("instruction")))
    assert reviews[-1] == ["Médiane", "", "", "", "", "3,00"]
    growth = read_csv(client.get(url("croissance")))
    assert growth[1] == ["Envolée", data_set["surge"].siren, "100", "400", "4,00", "oui"]
    assert next(row for row in growth if row[0] == "Nouveau")[2:] == ["0", "30", "nouvel entrant", "non"]
    weeks = client.get(url("depots"))
    assert weeks["Content-Disposition"] == f'attachment; filename="depots-{campaign.code}.csv"'
    assert read_csv(weeks)[1][1] == "2"
    assert client.get(url("inconnu")).status_code == 404
    assert client.get(reverse("admin:claims_dashboard_csv", args=[999999, "etats"])).status_code == 404


def test_a_csv_cell_that_looks_like_a_formula_is_neutralised(client, data_set):
    data_set["surge"].legal_name = "=HYPERLINK(1)"
    data_set["surge"].save()
    client.force_login(agent())
    rows = read_csv(client.get(reverse("admin:claims_dashboard_csv", args=[data_set["campaign"].pk, "croissance"])))
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_the_dashboard_draws_its_charts_without_inline_script(client, data_set):
    client.force_login(agent())
    response = client.get(reverse("admin:claims_dashboard") + f"?campagne={data_set['campaign'].code}")
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    for attributes, body in scripts:
        # Either a static file, or data (json_script), never code.
        assert ('src="' in attributes and not body.strip()) or 'type="application/json"' in attributes
    assert re.search(r"\son(click|load|error|change)=", html) is None
    assert "/static/vendor/chart.js-4.6.1/chart.umd.min.js" in html
    assert "/static/claims/charts.js" in html
    assert html.count("<canvas data-chart=") == 5
    assert html.count("Télécharger les chiffres (CSV)") == 5
    # The flagged operator is named and linked, and the existing figures stay.
    assert reverse("admin:operators_operator_change", args=[data_set["surge"].pk]) in html
    assert "Indus à proposer" in html and "Reste à verser" in html
