"""Figures for the agents' dashboard: per campaign, by state, granted vs paid vs remaining (amounts to pay),
and the figures of each campaign's charts (one function per chart, whose rows are also its table and CSV)."""

import csv
import io
import statistics
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Min, Q, Sum
from django.urls import reverse

from claims import selectors
from claims.enums import OPEN_RECOVERY_STATES, AttemptState, ClaimKind, ClaimState
from claims.models import Claim, ClaimEvent, Payment, PaymentAttempt, Recovery
from common.formatting import paris_date, paris_datetime, spreadsheet_decimal, spreadsheet_text
from funding import selectors as funding_selectors
from funding.calendar import paris_today
from funding.models import Campaign


def campaign_dashboard(*, user):
    """One dict per campaign; a constant number of queries whatever the number of claims."""
    today = paris_today()
    by_state = defaultdict(dict)
    for row in Claim.objects.values("campaign_id", "state").annotate(n=Count("id"), total=Sum("amount")):
        by_state[row["campaign_id"]][row["state"]] = (row["n"], row["total"] or Decimal("0"))

    # Granted ("accordé", docs/spec/SPEC.md §1): claims approved or paid, excl. VAT and to pay. A negative balance
    # is not granted money: its undue part shows under the recoveries.
    granted = {
        row["campaign_id"]: row
        for row in Claim.objects.filter(state__in=(ClaimState.APPROVED, ClaimState.PAID), amount__gte=0)
        .values("campaign_id")
        .annotate(excl_vat=Sum("amount"), to_pay=Sum("amount_to_pay"))
    }
    # Paid: settled payments only (a transfer the bank returned no longer counts). Ordered: batch lines
    # sent or about to be, not yet confirmed — part of what remains to pay.
    paid = {
        row["claim__campaign_id"]: row
        for row in Payment.objects.settled()
        .values("claim__campaign_id")
        .annotate(to_pay=Sum("amount"), excl_vat=Sum("amount_excl_vat"))
    }
    ordered = dict(
        PaymentAttempt.objects.filter(state=AttemptState.ORDERED)
        .values_list("claim__campaign_id")
        .annotate(total=Sum("amount_to_pay"))
        .values_list("claim__campaign_id", "total")
    )
    recovering = dict(
        Recovery.objects.filter(state__in=OPEN_RECOVERY_STATES)
        .values_list("claim__campaign_id")
        .annotate(total=Sum("amount_notified"))
        .values_list("claim__campaign_id", "total")
    )
    action = dict(
        Claim.objects.values_list("campaign_id")
        .annotate(
            n=Count(
                "id",
                filter=Q(state=ClaimState.SUBMITTED)
                | Q(state=ClaimState.IN_REVIEW, assigned_to=user)
                | Q(state=ClaimState.APPROVED),
            )
        )
        .values_list("campaign_id", "n")
    )
    overdue = dict(
        Claim.objects.values_list("campaign_id")
        .annotate(n=Count("id", filter=Q(state=ClaimState.CHANGES_REQUESTED, correction_due__lt=today)))
        .values_list("campaign_id", "n")
    )
    # The agents' task « proposer un indu »: paid advances without a balance past its deadline.
    to_propose = dict(
        selectors.advances_to_recover(user=user)
        .order_by()
        .values_list("campaign_id")
        .annotate(n=Count("id"))
        .values_list("campaign_id", "n")
    )
    result = []
    for campaign in Campaign.objects.select_related("schedule").order_by("-closure_date"):
        states = by_state.get(campaign.pk, {})
        zero = {"excl_vat": Decimal("0"), "to_pay": Decimal("0")}
        granted_row, paid_row = granted.get(campaign.pk) or zero, paid.get(campaign.pk) or zero
        result.append(
            {
                "campaign": campaign,
                "states": [
                    {
                        "label": state.label,
                        "value": state.value,
                        "count": states.get(state, (0, 0))[0],
                        "amount": states.get(state, (0, Decimal("0")))[1],
                    }
                    for state in ClaimState
                ],
                "granted": granted_row["excl_vat"] or Decimal("0"),
                "granted_to_pay": granted_row["to_pay"] or Decimal("0"),
                "paid": paid_row["to_pay"] or Decimal("0"),
                "paid_excl_vat": paid_row["excl_vat"] or Decimal("0"),
                "ordered": ordered.get(campaign.pk) or Decimal("0"),
                "remaining": (granted_row["to_pay"] or Decimal("0")) - (paid_row["to_pay"] or Decimal("0")),
                "recovering": recovering.get(campaign.pk) or Decimal("0"),
                "due_for_action": action.get(campaign.pk, 0),
                "overdue": overdue.get(campaign.pk, 0),
                "recoveries_to_propose": to_propose.get(campaign.pk, 0),
            }
        )
    return result


# --- Charts of one campaign (the agents' dashboard) -------------------------------------------
#
# Each function returns the figures of one chart as a list of rows (the table drawn beside the
# chart, its CSV download and the JSON the chart is drawn from are all these rows), plus what the
# chart marks (deadlines, budget, threshold). Amounts are excl. VAT: the budget is.

# The order claims move through, then the ways out of it.
FUNNEL_STATES = (
    ClaimState.DRAFT,
    ClaimState.SUBMITTED,
    ClaimState.IN_REVIEW,
    ClaimState.CHANGES_REQUESTED,
    ClaimState.APPROVED,
    ClaimState.PAID,
    ClaimState.REJECTED,
    ClaimState.WITHDRAWN,
    ClaimState.LAPSED,
)


def state_funnel(*, campaign):
    """Claims of the campaign by state (funnel order) and kind: [{state, label, advance, balance, total}]."""
    counts = {
        (row["state"], row["kind"]): row["n"]
        for row in Claim.objects.filter(campaign=campaign).values("state", "kind").annotate(n=Count("id"))
    }
    rows = []
    for state in FUNNEL_STATES:
        by_kind = {kind.value: counts.get((state.value, kind.value), 0) for kind in ClaimKind}
        rows.append({"state": state.value, "label": state.label, **by_kind, "total": sum(by_kind.values())})
    return rows


def campaign_budget(*, campaign):
    """The campaign's budget excl. VAT: `campaign_report`'s operators, each priced under the schedule in
    force for its kind (buyers', developers'), summed."""
    report = funding_selectors.campaign_report(campaign=campaign, schedules=[campaign.developer_schedule])
    return sum(
        (row["amounts"][campaign.schedule_for(row["operator"].kind).code] for row in report["rows"]),
        Decimal("0.00"),
    )


def amounts_against_budget(*, campaign, figures):
    """Granted / ordered / paid / remaining excl. VAT against the budget. `figures`: the campaign's row of
    campaign_dashboard (granted, paid: the dashboard's own figures). Ordered: the batch lines
    ordered and not resolved yet."""
    ordered = PaymentAttempt.objects.filter(claim__campaign=campaign, state=AttemptState.ORDERED).aggregate(
        total=Sum("amount_excl_vat")
    )["total"] or Decimal("0")
    granted, paid = figures["granted"], figures["paid_excl_vat"]
    budget = campaign_budget(campaign=campaign)
    rows = [
        {"key": "granted", "label": "Accordé", "amount": granted},
        {"key": "ordered", "label": "Ordonné (lots en cours)", "amount": ordered},
        {"key": "paid", "label": "Versé", "amount": paid},
        {"key": "remaining", "label": "Reste à verser", "amount": granted - paid},
    ]
    for row in rows:
        row["share"] = (row["amount"] / budget) if budget else None
    return {"rows": rows, "budget": budget}


def _week_start(day):
    return day - timedelta(days=day.weekday())


def submissions_per_week(*, campaign):
    """First filings per week (Monday, Paris time) and kind, from the first to the last week with one,
    extended to the deadlines: [{week, advance, balance, total}]; the deadlines and the closure marked."""
    filed = ClaimEvent.objects.filter(claim__campaign=campaign, action="submit").values_list("at", "claim__kind")
    counts = defaultdict(lambda: dict.fromkeys(ClaimKind.values, 0))
    for at, kind in filed:
        counts[_week_start(paris_today(at=at))][kind] += 1
    marks = [
        {"label": "Clôture", "day": campaign.closure_date},
        {"label": "Date limite des avances", "day": campaign.advance_deadline},
        {"label": "Date limite des soldes", "day": campaign.balance_deadline},
    ]
    rows = []
    if counts:
        week = min(counts)
        last = max(max(counts), *(_week_start(mark["day"]) for mark in marks))
        while week <= last:
            by_kind = counts.get(week) or dict.fromkeys(ClaimKind.values, 0)
            rows.append({"week": week, **by_kind, "total": sum(by_kind.values())})
            week += timedelta(days=7)
    for mark in marks:
        mark["week"] = _week_start(mark["day"])
    return {"rows": rows, "marks": sorted(marks, key=lambda mark: mark["day"])}


def review_times(*, campaign):
    """Per decided claim (approved, possibly paid since, or rejected): days from its first filing to the
    decision, and their median: {rows: [{claim, operator, kind, submitted_at, decided_at, days}], median}."""
    first_filing = dict(
        ClaimEvent.objects.filter(claim__campaign=campaign, action="submit")
        .values_list("claim_id")
        .annotate(first=Min("at"))
        .values_list("claim_id", "first")
    )
    claims = (
        Claim.objects.filter(campaign=campaign, decided_at__isnull=False, pk__in=list(first_filing))
        .select_related("operator")
        .order_by("decided_at", "pk")
    )
    rows = []
    for claim in claims:
        submitted = first_filing[claim.pk]
        days = Decimal((claim.decided_at - submitted).total_seconds()) / Decimal(86400)
        rows.append(
            {
                "claim": claim,
                "operator": claim.operator.legal_name,
                "kind": claim.get_kind_display(),
                "submitted_at": submitted,
                "decided_at": claim.decided_at,
                "days": days.quantize(Decimal("0.1")),
            }
        )
    median = statistics.median([row["days"] for row in rows]) if rows else None
    return {"rows": rows, "median": median.quantize(Decimal("0.1")) if median is not None else None}


def growth_scatter(*, campaign):
    """Each operator's growth between the reference and closure snapshots (the stored growth checks)
    against the overall growth and the threshold: {rows, overall, threshold, factor, newcomers}.
    Newcomers (no mailbox at the reference) have no ratio: listed, not drawn."""
    checks = list(funding_selectors.growth_checks(campaign=campaign).order_by("-flagged", "operator__legal_name"))
    if not checks:
        return {"rows": [], "overall": None, "threshold": None, "factor": None, "reference": None, "closure": None}
    first = checks[0]
    rows = [
        {
            "operator_id": check.operator_id,
            "operator": check.operator.legal_name,
            "siren": check.operator.siren,
            "reference_count": check.reference_count,
            "closure_count": check.closure_count,
            "growth": check.growth,
            "growth_label": check.growth_label,
            "newcomer": check.is_newcomer,
            "flagged": check.flagged,
            "url": reverse("admin:operators_operator_change", args=[check.operator_id]),
        }
        for check in checks
    ]
    return {
        "rows": rows,
        "overall": first.overall_growth,
        "threshold": first.overall_growth * first.factor,
        "factor": first.factor,
        "reference": first.reference_snapshot,
        "closure": first.closure_snapshot,
    }


def campaign_charts(*, campaign, figures):
    """Every chart of a campaign (`figures`: its row of campaign_dashboard)."""
    return {
        "funnel": state_funnel(campaign=campaign),
        "amounts": amounts_against_budget(campaign=campaign, figures=figures),
        "weeks": submissions_per_week(campaign=campaign),
        "reviews": review_times(campaign=campaign),
        "growth": growth_scatter(campaign=campaign),
    }


def charts_json(charts):
    """The figures the charts are drawn from (json_script): plain numbers and ISO dates."""

    def num(value):
        return float(value) if value is not None else None

    amounts, weeks, reviews, growth = charts["amounts"], charts["weeks"], charts["reviews"], charts["growth"]
    return {
        "funnel": {
            "labels": [row["label"] for row in charts["funnel"]],
            "advance": [row["advance"] for row in charts["funnel"]],
            "balance": [row["balance"] for row in charts["funnel"]],
        },
        "amounts": {
            "labels": [row["label"] for row in amounts["rows"]],
            "values": [num(row["amount"]) for row in amounts["rows"]],
            "budget": num(amounts["budget"]),
        },
        "weeks": {
            "labels": [row["week"].isoformat() for row in weeks["rows"]],
            "advance": [row["advance"] for row in weeks["rows"]],
            "balance": [row["balance"] for row in weeks["rows"]],
            "marks": [{"label": mark["label"], "week": mark["week"].isoformat()} for mark in weeks["marks"]],
        },
        "reviews": {
            "labels": [f"n° {row['claim'].pk}" for row in reviews["rows"]],
            "values": [num(row["days"]) for row in reviews["rows"]],
            "median": num(reviews["median"]),
        },
        "growth": {
            "points": [
                {
                    "x": row["reference_count"],
                    "y": num(row["growth"]),
                    "label": row["operator"],
                    "flagged": row["flagged"],
                    "url": row["url"],
                }
                for row in growth["rows"]
                if not row["newcomer"]
            ],
            "overall": num(growth["overall"]),
            "threshold": num(growth["threshold"]),
        },
    }


CHART_NAMES = ("etats", "montants", "depots", "instruction", "croissance")


def chart_csv_rows(charts, name):
    """(header, rows) of one chart's CSV: the figures of its table, cells through
    common.formatting.spreadsheet_text / spreadsheet_decimal (French spreadsheets, no formula)."""
    text, dec = spreadsheet_text, spreadsheet_decimal
    if name == "etats":
        header = ["État", "Avances", "Soldes", "Total"]
        rows = [[text(r["label"]), r["advance"], r["balance"], r["total"]] for r in charts["funnel"]]
    elif name == "montants":
        amounts = charts["amounts"]
        header = ["Montant", "Montant HT (€)", "Part du budget (%)"]
        rows = [
            [text(r["label"]), dec(r["amount"]), dec(r["share"] * 100) if r["share"] is not None else ""]
            for r in amounts["rows"]
        ]
        rows.append([text("Budget (barèmes en vigueur)"), dec(amounts["budget"]), dec(100)])
    elif name == "depots":
        header = ["Semaine du", "Avances déposées", "Soldes déposés", "Total", "Échéance"]
        marks = defaultdict(list)
        for mark in charts["weeks"]["marks"]:
            marks[mark["week"]].append(f"{mark['label']} ({paris_date(mark['day'])})")
        rows = [
            [
                paris_date(r["week"]),
                r["advance"],
                r["balance"],
                r["total"],
                text(" ; ".join(marks.get(r["week"], []))),
            ]
            for r in charts["weeks"]["rows"]
        ]
    elif name == "instruction":
        header = ["Demande", "Opérateur", "Type", "Déposée le", "Décidée le", "Durée (jours)"]
        rows = [
            [
                r["claim"].pk,
                text(r["operator"]),
                text(r["kind"]),
                paris_datetime(r["submitted_at"]),
                paris_datetime(r["decided_at"]),
                dec(r["days"]),
            ]
            for r in charts["reviews"]["rows"]
        ]
        rows.append([text("Médiane"), "", "", "", "", dec(charts["reviews"]["median"])])
    elif name == "croissance":
        growth = charts["growth"]
        header = ["Opérateur", "SIREN", "BAL à la référence", "BAL à la clôture", "Croissance", "Anomalie"]
        rows = [
            [
                text(r["operator"]),
                text(r["siren"]),
                r["reference_count"],
                r["closure_count"],
                dec(r["growth"]) if r["growth"] is not None else text("nouvel entrant"),
                "oui" if r["flagged"] else "non",
            ]
            for r in growth["rows"]
        ]
        rows.append([text("Ensemble des opérateurs"), "", "", "", dec(growth["overall"]), ""])
        rows.append([text("Seuil"), "", "", "", dec(growth["threshold"]), ""])
    else:
        raise KeyError(name)
    return header, rows


def chart_csv(charts, name):
    """One chart's CSV for French spreadsheets: `;`, decimal comma, UTF-8 with BOM (as claims.exports)."""
    header, rows = chart_csv_rows(charts, name)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
