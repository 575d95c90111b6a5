from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from funding import annuaire
from funding.enums import CountSource, MailboxType
from funding.formula import compute_breakdown
from funding.models import (
    AnnuaireSnapshot,
    Campaign,
    CountedDomain,
    CountedMailbox,
    FundingSchedule,
    GrowthCheck,
    MailboxCount,
)
from operators.models import MailDomain, Operator


def published_schedules():
    return FundingSchedule.objects.filter(is_published=True).order_by("code")


def schedule_by_code(code):
    return FundingSchedule.objects.filter(code=code).first()


def campaigns():
    return Campaign.objects.select_related("schedule", "developer_schedule").order_by("-closure_date", "code")


# --- Mailbox counts -------------------------------------------------------------------------


@dataclass(frozen=True)
class CountLine:
    """One count with where it comes from (`source` is a CountSource value)."""

    count: int
    source: str
    detail: str

    def as_dict(self):
        return {
            "count": self.count,
            "source": self.source,
            "label": CountSource(self.source).label,
            "detail": self.detail,
        }


def snapshot_at(day):
    """The Annuaire snapshot of `day` (the newest import when several files share the day), or None."""
    return AnnuaireSnapshot.objects.filter(as_of=day).order_by("-imported_at", "-pk").first()


def domains_held_on(day):
    """Operators' domains valid on `day` (null bounds are open)."""
    return MailDomain.objects.filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=day), Q(valid_until__isnull=True) | Q(valid_until__gte=day)
    )


def count_lines_by_operator(*, day, operator_ids=None):
    """{operator_id: {type: CountLine}} for `day` from the best source, in schedule order.

    PER and ORG come from the Annuaire snapshot of `day` when there is one and the operator held
    a domain that day; APP (absent from the public file), and every type otherwise, come from
    the recorded MailboxCount rows (count file or agent entry). Operators with nothing
    established are absent. `operator_ids` limits the operators read (None: all).
    """
    rows = MailboxCount.objects.filter(as_of=day)
    holders = domains_held_on(day)
    if operator_ids is not None:
        rows = rows.filter(operator_id__in=operator_ids)
        holders = holders.filter(operator_id__in=operator_ids)
    recorded = {}
    for row in rows:
        recorded.setdefault(row.operator_id, {})[row.mailbox_type] = row
    snapshot = snapshot_at(day)
    from_annuaire = set(holders.values_list("operator_id", flat=True)) if snapshot is not None else set()
    counts = {}
    if from_annuaire:
        only = next(iter(operator_ids)) if operator_ids is not None and len(operator_ids) == 1 else None
        counts = annuaire.operator_type_counts(snapshot.pk, day, operator_id=only)
        detail = f"{snapshot.file_name} (extraction au {snapshot.as_of:%d/%m/%Y}, SHA-256 {snapshot.sha256[:12]}…)"
    result = {}
    for operator_id in sorted(from_annuaire | set(recorded)):
        lines = {}
        for kind in MailboxType.values:
            if operator_id in from_annuaire and kind != MailboxType.APP:
                lines[kind] = CountLine(counts.get((operator_id, kind), 0), CountSource.ANNUAIRE, detail)
            elif kind in recorded.get(operator_id, {}):
                row = recorded[operator_id][kind]
                lines[kind] = CountLine(row.count, row.source, row.source_note)
        if lines:
            result[operator_id] = lines
    return result


def count_lines_at(*, operator, day):
    """{type: CountLine} of one operator for `day` (see count_lines_by_operator); {} when nothing is established."""
    return count_lines_by_operator(day=day, operator_ids=[operator.pk]).get(operator.pk, {})


def counts_at(*, operator, day):
    """{type: count} for `day` from the best source (see count_lines_at), or None when nothing is established."""
    lines = count_lines_at(operator=operator, day=day)
    return {kind: line.count for kind, line in lines.items()} or None


# --- Anomalies and budget -------------------------------------------------------------------


def reference_snapshot(campaign):
    """The snapshot growth is measured from: the campaign's reference date, else the last one before closure."""
    if campaign.reference_date:
        return snapshot_at(campaign.reference_date)
    return AnnuaireSnapshot.objects.filter(as_of__lt=campaign.closure_date).order_by("-as_of", "-imported_at").first()


def growth_checks(*, campaign, flagged_only=False):
    checks = GrowthCheck.objects.filter(campaign=campaign).select_related("operator")
    return checks.filter(flagged=True) if flagged_only else checks


def campaign_report(*, campaign, schedules=None):
    """Per operator the counts at closure and the amount under each schedule, plus totals.

    `schedules`: the schedules to price with besides the campaign's (default: every other one).
    Operators with no count established at closure are left out.
    """
    main = campaign.schedule
    others = list(schedules) if schedules is not None else list(FundingSchedule.objects.exclude(pk=main.pk))
    priced = [main, *[schedule for schedule in others if schedule.pk != main.pk]]
    flagged = set(GrowthCheck.objects.filter(campaign=campaign, flagged=True).values_list("operator_id", flat=True))
    by_operator = count_lines_by_operator(day=campaign.closure_date)
    rows = []
    totals = {"counts": dict.fromkeys(MailboxType.values, 0), "amounts": {s.code: Decimal("0.00") for s in priced}}
    for operator in Operator.objects.filter(pk__in=by_operator).order_by("legal_name", "pk"):
        lines = by_operator[operator.pk]
        counts = {kind: lines[kind].count if kind in lines else 0 for kind in MailboxType.values}
        amounts = {s.code: compute_breakdown(schedule=s, counts=counts).total for s in priced}
        for kind, count in counts.items():
            totals["counts"][kind] += count
        for code, amount in amounts.items():
            totals["amounts"][code] += amount
        rows.append(
            {
                "operator": operator,
                "counts": counts,
                "sources": {kind: line.source for kind, line in lines.items()},
                "amounts": amounts,
                "flagged": operator.pk in flagged,
            }
        )
    return {"campaign": campaign, "schedules": priced, "rows": rows, "totals": totals}


def campaign_report_as_dict(report):
    """The report's JSON shape: money as strings with two decimals."""
    return {
        "campaign": report["campaign"].code,
        "closure_date": report["campaign"].closure_date.isoformat(),
        "schedule": report["campaign"].schedule.code,
        "schedules": [schedule.code for schedule in report["schedules"]],
        "operators": [
            {
                "siren": row["operator"].siren,
                "legal_name": row["operator"].legal_name,
                "counts": row["counts"],
                "sources": row["sources"],
                "amounts": {code: f"{amount:.2f}" for code, amount in row["amounts"].items()},
                "flagged": row["flagged"],
            }
            for row in report["rows"]
        ],
        "totals": {
            "operators": len(report["rows"]),
            "counts": report["totals"]["counts"],
            "amounts": {code: f"{amount:.2f}" for code, amount in report["totals"]["amounts"].items()},
        },
    }


def counted_elsewhere(*, campaign, operator, other_operator_ids):
    """How many addresses frozen in `operator`'s claim of `campaign` are also frozen for one of the
    other operators (a park funded twice). The claims app passes the operators already funded.

    An address carries its domain, so only domains counted on both sides can share one: they are
    found in the per-domain summary (a few rows per operator; usually none in common). The
    addresses of those domains (a transferred park) are then compared as sets, in Python: the
    rows may have been written moments ago, before PostgreSQL has statistics on them, and a
    planner that takes a park for a handful of rows turns a semi-join into minutes of probes.
    """
    other_operator_ids = set(other_operator_ids) - {operator.pk}
    if not other_operator_ids:
        return 0
    mine = CountedDomain.objects.filter(campaign=campaign, operator=operator).values_list("domain", flat=True)
    shared = set(
        CountedDomain.objects.filter(
            campaign=campaign, operator_id__in=other_operator_ids, domain__in=list(mine)
        ).values_list("domain", flat=True)
    )
    if not shared:
        return 0
    theirs = set(
        CountedMailbox.objects.filter(campaign=campaign, operator_id__in=other_operator_ids, domain__in=shared)
        .values_list("address", flat=True)
        .iterator(chunk_size=10_000)
    )
    addresses = CountedMailbox.objects.filter(campaign=campaign, operator=operator, domain__in=shared)
    return sum(
        1 for address in addresses.values_list("address", flat=True).iterator(chunk_size=10_000) if address in theirs
    )
