from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TypedDict

from django.db.models import F, Q, QuerySet

from common.formatting import paris_date
from funding import annuaire
from funding.calendar import end_of_day
from funding.enums import CountSource, MailboxType
from funding.formula import Breakdown, compute_breakdown
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


def published_schedules() -> QuerySet[FundingSchedule]:
    return FundingSchedule.objects.filter(is_published=True).order_by("code")


def schedule_by_code(code: str) -> FundingSchedule | None:
    return FundingSchedule.objects.filter(code=code).first()


def campaigns() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("schedule", "developer_schedule").order_by("-closure_date", "code")


def current_vat_rate() -> Decimal | None:
    """The VAT rate of the newest campaign paying VAT (what the public simulator shows), or None."""
    return (
        Campaign.objects.filter(pays_vat=True)
        .order_by("-closure_date", "code")
        .values_list("vat_rate", flat=True)
        .first()
    )


# --- Mailbox counts -------------------------------------------------------------------------


# Which source wins when several give a figure for the same type on the same day (highest first):
# an agent who checked the proofs over ANS's per-operator count file over the public Annuaire.
SOURCE_PRECEDENCE: dict[str, int] = {CountSource.AGENT_ENTRY: 3, CountSource.COUNT_FILE: 2, CountSource.ANNUAIRE: 1}


@dataclass(frozen=True)
class CountLine:
    """One established count: the figure, where it comes from (a CountSource value), its date, and the
    figures of other sources it prevailed over (why it won is SOURCE_PRECEDENCE or a later date)."""

    count: int
    source: str
    detail: str
    as_of: date | None = None
    overridden: tuple["CountLine", ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "count": self.count,
            "source": self.source,
            "label": CountSource(self.source).label,
            "detail": self.detail,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "overridden": [
                {"count": other.count, "source": other.source, "label": CountSource(other.source).label,
                 "as_of": other.as_of.isoformat() if other.as_of else None}
                for other in self.overridden
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class CountBasis:
    """Where the counts of a claim are read.

    `day`: the day counted; a figure dated from `earliest` to `day` may be used, the latest date
    winning. `snapshot`: the Annuaire extraction read (or None), its figures dated `snapshot_day`
    (also the day the operators' domains are looked up).
    """

    day: date
    earliest: date
    snapshot: AnnuaireSnapshot | None
    snapshot_day: date | None

    @property
    def label(self) -> str:
        if self.earliest == self.day:
            return f"au {paris_date(self.day)}"
        return f"au {paris_date(self.day)} (comptages datant du {paris_date(self.earliest)} au plus tôt)"


def snapshot_at(day: date) -> AnnuaireSnapshot | None:
    """The Annuaire snapshot of `day` (the newest import when several files share the day), or None."""
    return AnnuaireSnapshot.objects.filter(as_of=day).order_by("-imported_at", "-pk").first()


def basis_on(day: date, *, max_age_days: int) -> CountBasis:
    """Counts established on `day` (an advance's filing day): figures up to `max_age_days` old, the
    newest extraction of that window."""
    earliest = day - timedelta(days=max_age_days)
    snapshot = (
        AnnuaireSnapshot.objects.filter(as_of__gte=earliest, as_of__lte=day).order_by("-as_of", "-imported_at", "-pk")
    ).first()
    return CountBasis(day=day, earliest=earliest, snapshot=snapshot, snapshot_day=snapshot.as_of if snapshot else None)


def closure_snapshot(campaign: Campaign) -> AnnuaireSnapshot | None:
    """The extraction that gives the mailboxes at the campaign's closure (a balance's counts).

    The agent's explicit choice when recorded; else the first extraction generated after the closure
    day ended in Paris (a nightly file generated at 04:00 on the closure day reflects the day before).
    An extraction whose generation time is unknown is taken for the day it was imported as.
    """
    if campaign.closure_snapshot_id:
        return campaign.closure_snapshot
    closure_end = end_of_day(campaign.closure_date)
    return (
        AnnuaireSnapshot.objects.filter(as_of__gte=campaign.closure_date)
        .filter(Q(generated_at__isnull=True) | Q(generated_at__gt=closure_end))
        .order_by("as_of", F("generated_at").asc(nulls_last=True), "imported_at", "pk")
        .first()
    )


def closure_basis(campaign: Campaign) -> CountBasis:
    """Counts at the campaign's closure: figures dated the closure day and the closure snapshot."""
    day = campaign.closure_date
    return CountBasis(day=day, earliest=day, snapshot=closure_snapshot(campaign), snapshot_day=day)


def domains_held_on(day: date) -> QuerySet[MailDomain]:
    """Operators' domains valid on `day` (null bounds are open)."""
    return MailDomain.objects.filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=day), Q(valid_until__isnull=True) | Q(valid_until__gte=day)
    )


def snapshot_covers(snapshot: AnnuaireSnapshot, mailbox_type: str) -> bool:
    """An extraction establishes a type only when it has lines of that type: the public file carries no
    APP line, which says nothing about an operator's APP mailboxes (never an implicit zero)."""
    return bool(snapshot.by_type.get(mailbox_type))


def count_lines_by_operator(
    *, basis: CountBasis, operator_ids: Collection[int] | None = None
) -> dict[int, dict[str, CountLine]]:
    """{operator_id: {type: CountLine}}: for each type, the figure of the latest date in the basis'
    window and, on that date, the best source (SOURCE_PRECEDENCE). A type with no figure is absent
    (never zero); operators with nothing established are absent. `operator_ids` limits the operators
    read (None: all).

    Sources: MailboxCount rows (agent entries, count file) dated in the window; the basis' snapshot
    for the types it covers, through the domains each operator held on the snapshot's day.
    """
    rows = MailboxCount.objects.filter(as_of__gte=basis.earliest, as_of__lte=basis.day)
    if operator_ids is not None:
        rows = rows.filter(operator_id__in=operator_ids)
    candidates: dict[int, dict[str, list[CountLine]]] = {}
    for row in rows:
        line = CountLine(row.count, row.source, row.source_note, row.as_of)
        candidates.setdefault(row.operator_id, {}).setdefault(row.mailbox_type, []).append(line)
    snapshot = basis.snapshot
    if snapshot is not None and basis.snapshot_day is not None:  # set together (CountBasis)
        covered = [kind for kind in MailboxType.values if snapshot_covers(snapshot, kind)]
        holders = domains_held_on(basis.snapshot_day)
        if operator_ids is not None:
            holders = holders.filter(operator_id__in=operator_ids)
        holder_ids = set(holders.values_list("operator_id", flat=True))
        if covered and holder_ids:
            only = next(iter(operator_ids)) if operator_ids is not None and len(operator_ids) == 1 else None
            counts = annuaire.operator_type_counts(snapshot.pk, basis.snapshot_day, operator_id=only)
            detail = (
                f"{snapshot.file_name} (extraction au {paris_date(snapshot.as_of)}, SHA-256 {snapshot.sha256[:12]}…)"
            )
            for operator_id in holder_ids:
                for kind in covered:
                    line = CountLine(
                        counts.get((operator_id, kind), 0), CountSource.ANNUAIRE, detail, basis.snapshot_day
                    )
                    candidates.setdefault(operator_id, {}).setdefault(kind, []).append(line)
    result: dict[int, dict[str, CountLine]] = {}
    for operator_id in sorted(candidates):
        lines: dict[str, CountLine] = {}
        for kind in MailboxType.values:
            found = candidates[operator_id].get(kind)
            if not found:
                continue
            found.sort(key=lambda line: (line.as_of, SOURCE_PRECEDENCE[line.source]), reverse=True)
            best, others = found[0], tuple(found[1:])
            lines[kind] = CountLine(best.count, best.source, best.detail, best.as_of, others)
        result[operator_id] = lines
    return result


def count_lines_at(*, operator: Operator, basis: CountBasis) -> dict[str, CountLine]:
    """{type: CountLine} of one operator (see count_lines_by_operator); {} when nothing is established."""
    return count_lines_by_operator(basis=basis, operator_ids=[operator.pk]).get(operator.pk, {})


def counts_at(*, operator: Operator, basis: CountBasis) -> dict[str, int] | None:
    """{type: count} established for the basis (see count_lines_at), or None when nothing is."""
    lines = count_lines_at(operator=operator, basis=basis)
    return {kind: line.count for kind, line in lines.items()} or None


def missing_types(lines: Mapping[str, object]) -> list[str]:
    """The mailbox types without an established figure, in schedule order."""
    return [kind for kind in MailboxType.values if kind not in lines]


# --- Anomalies and budget -------------------------------------------------------------------


def reference_snapshot(campaign: Campaign) -> AnnuaireSnapshot | None:
    """The snapshot growth is measured from: the campaign's reference date, else the last one before closure."""
    if campaign.reference_date:
        return snapshot_at(campaign.reference_date)
    return AnnuaireSnapshot.objects.filter(as_of__lt=campaign.closure_date).order_by("-as_of", "-imported_at").first()


def growth_checks(*, campaign: Campaign, flagged_only: bool = False) -> QuerySet[GrowthCheck]:
    checks = GrowthCheck.objects.filter(campaign=campaign).select_related("operator")
    return checks.filter(flagged=True) if flagged_only else checks


class ReportRow(TypedDict):
    operator: Operator
    counts: dict[str, int]
    sources: dict[str, str]
    amounts: dict[str, Decimal]  # {schedule code: total}
    flagged: bool


class ReportTotals(TypedDict):
    counts: dict[str, int]
    amounts: dict[str, Decimal]


class CampaignReport(TypedDict):
    campaign: Campaign
    schedules: list[FundingSchedule]
    rows: list[ReportRow]
    totals: ReportTotals


def campaign_report(*, campaign: Campaign, schedules: Iterable[FundingSchedule] | None = None) -> CampaignReport:
    """Per operator the counts at closure and the amount under each schedule, plus totals.

    `schedules`: the schedules to price with besides the campaign's (default: every other one).
    Operators with no count established at closure are left out.
    """
    main = campaign.schedule
    others = list(schedules) if schedules is not None else list(FundingSchedule.objects.exclude(pk=main.pk))
    priced = [main, *[schedule for schedule in others if schedule.pk != main.pk]]
    flagged = set(GrowthCheck.objects.filter(campaign=campaign, flagged=True).values_list("operator_id", flat=True))
    by_operator = count_lines_by_operator(basis=closure_basis(campaign))
    rows: list[ReportRow] = []
    totals: ReportTotals = {
        "counts": dict.fromkeys(MailboxType.values, 0),
        "amounts": {s.code: Decimal("0.00") for s in priced},
    }
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


def campaign_report_as_dict(report: CampaignReport) -> dict[str, object]:
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


def counted_elsewhere(*, campaign: Campaign, operator: Operator, other_operator_ids: Iterable[int]) -> int:
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


# --- An operator's mailboxes over time (the portal's chart) ------------------------------------


@dataclass(frozen=True)
class MailboxPoint:
    """The counts established for an operator on `day` (as an advance filed that day would read them)
    and the funding they would give under the schedule in force for it."""

    day: date
    lines: dict[str, CountLine]
    missing: list[str]
    funding: Breakdown  # missing types count as zero


# A few years of nightly extractions would make an unreadable chart: the latest dates only.
HISTORY_POINTS = 36


def operator_mailbox_history(
    *, operator: Operator, campaign: Campaign, until: date | None = None
) -> list[MailboxPoint]:
    """[MailboxPoint] on each day that brought a figure for `operator` — an imported Annuaire extraction
    or a line of ANS's count file (also an agent's entry) — oldest first, at most HISTORY_POINTS.

    Each point holds what count_lines_at reads on that day with the campaign's maximum age (the rule
    of an advance's counts) and its price under `campaign.schedule_for(operator.kind)`
    (funding.formula.compute_breakdown; a type not established counts as zero and is listed in
    `missing`). Reads only.
    """
    days = set(AnnuaireSnapshot.objects.values_list("as_of", flat=True).distinct())
    days |= set(MailboxCount.objects.filter(operator=operator).values_list("as_of", flat=True).distinct())
    if until is not None:
        days = {day for day in days if day <= until}
    schedule = campaign.schedule_for(operator.kind)
    points = []
    for day in sorted(days)[-HISTORY_POINTS:]:
        lines = count_lines_at(operator=operator, basis=basis_on(day, max_age_days=campaign.count_max_age_days))
        counts = {kind: line.count for kind, line in lines.items()}
        points.append(
            MailboxPoint(
                day=day,
                lines=lines,
                missing=missing_types(lines),
                funding=compute_breakdown(schedule=schedule, counts=counts),
            )
        )
    return points
