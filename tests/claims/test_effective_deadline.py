"""One filing-deadline rule: the single-claim `effective_deadline`, the admin column and "retard"
filter, and the daily jobs agree on every case (extensions later or earlier, several, other
operator, campaign or kind), and the jobs spend no query per claim they leave alone."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from claims import selectors, services
from claims.enums import ClaimKind, ClaimState
from claims.models import Claim, DeadlineExtension, SentNotification
from funding.calendar import paris_today
from tests.factories import OperatorFactory, agent, segur_campaign, validator

pytestmark = pytest.mark.django_db

ADVANCE, BALANCE = ClaimKind.ADVANCE, ClaimKind.BALANCE
ADVANCE_IN, BALANCE_IN = -5, 10  # the campaign's own deadlines, in days from today: advance passed
SAME, OTHER = "same", "other"

# (claim kind, extensions as (operator, campaign, kind, days from today), expected deadline in days)
CASES = {
    "advance, no extension": (ADVANCE, [], ADVANCE_IN),
    "advance, later extension": (ADVANCE, [(SAME, SAME, ADVANCE, 3)], 3),
    "advance, extension until today": (ADVANCE, [(SAME, SAME, ADVANCE, 0)], 0),
    "advance, earlier extension ignored": (ADVANCE, [(SAME, SAME, ADVANCE, -8)], ADVANCE_IN),
    "advance, several: the latest date wins": (
        ADVANCE,
        [(SAME, SAME, ADVANCE, 4), (SAME, SAME, ADVANCE, -1), (SAME, SAME, ADVANCE, 2)],
        4,
    ),
    "advance, other operator's extension ignored": (ADVANCE, [(OTHER, SAME, ADVANCE, 3)], ADVANCE_IN),
    "advance, other campaign's extension ignored": (ADVANCE, [(SAME, OTHER, ADVANCE, 3)], ADVANCE_IN),
    "advance, balance extension ignored": (ADVANCE, [(SAME, SAME, BALANCE, 20)], ADVANCE_IN),
    "balance, no extension": (BALANCE, [], BALANCE_IN),
    "balance, later extension": (BALANCE, [(SAME, SAME, BALANCE, 12)], 12),
    "balance, earlier extension ignored": (BALANCE, [(SAME, SAME, BALANCE, -2)], BALANCE_IN),
    "balance, advance extension ignored": (BALANCE, [(SAME, SAME, ADVANCE, 30)], BALANCE_IN),
}


@pytest.fixture
def case(request):
    """The case's claim among decoys (other operator, other campaign, other kind), all drafts."""
    kind, extensions, expected = CASES[request.param]
    at = timezone.now()
    today = paris_today(at=at)
    campaigns = {
        SAME: segur_campaign("rule-same", today=today, advance_in=ADVANCE_IN, balance_in=BALANCE_IN),
        OTHER: segur_campaign("rule-other", today=today, advance_in=ADVANCE_IN, balance_in=BALANCE_IN),
    }
    operators = {SAME: OperatorFactory(), OTHER: OperatorFactory()}
    other_kind = BALANCE if kind == ADVANCE else ADVANCE
    claim = Claim.objects.create(operator=operators[SAME], campaign=campaigns[SAME], kind=kind)
    for operator, campaign, claim_kind in [(OTHER, SAME, kind), (SAME, OTHER, kind), (SAME, SAME, other_kind)]:
        Claim.objects.create(operator=operators[operator], campaign=campaigns[campaign], kind=claim_kind)
    granted_by = validator()
    for operator, campaign, extension_kind, days in extensions:
        DeadlineExtension.objects.create(
            operator=operators[operator],
            campaign=campaigns[campaign],
            kind=extension_kind,
            new_deadline=today + timedelta(days=days),
            reason="Test",
            granted_by=granted_by,
        )
    return claim, today + timedelta(days=expected), at


def rule(claim):
    return selectors.effective_deadline(operator=claim.operator, campaign=claim.campaign, kind=claim.kind)


def drafts_where(test):
    """{pk} of the drafts whose deadline, by the single-claim rule, passes `test`."""
    return {claim.pk for claim in Claim.objects.filter(state=ClaimState.DRAFT) if test(rule(claim))}


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_the_single_claim_rule_and_the_annotation_agree_on_every_case(case):
    claim, expected, _at = case
    assert rule(claim) == expected
    annotated = selectors.with_effective_deadline(Claim.objects.select_related("operator", "campaign"))
    assert {c.pk: c.effective_deadline for c in annotated} == {c.pk: rule(c) for c in annotated}


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_admin_column_and_overdue_filter_follow_the_rule(client, case):
    claim, expected, at = case
    today = paris_today(at=at)
    client.force_login(agent())
    changelist = reverse("admin:claims_claim_changelist")
    listed = client.get(changelist).context["cl"].result_list
    assert {c.pk: c.effective_deadline for c in listed} == {c.pk: rule(c) for c in listed}
    assert f"{expected:%d/%m/%Y}" in client.get(changelist, {"q": str(claim.pk)}).content.decode()
    overdue = {c.pk for c in client.get(changelist, {"overdue": "yes"}).context["cl"].result_list}
    assert overdue == drafts_where(lambda deadline: deadline < today)
    assert (claim.pk in overdue) == (expected < today)
    soon = {c.pk for c in client.get(changelist, {"overdue": "soon"}).context["cl"].result_list}
    assert soon == drafts_where(lambda deadline: today <= deadline <= today + timedelta(days=7))


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_daily_jobs_remind_and_lapse_exactly_by_the_rule(case, monkeypatch):
    claim, expected, at = case
    tried = []  # the job must select the overdue drafts itself, not rely on the lapse guard to refuse
    real_lapse = services.claim_lapse
    monkeypatch.setattr(  # where the daily job finds it (claims/services/deadlines.py)
        services.deadlines, "claim_lapse", lambda *, claim, at: tried.append(claim.pk) or real_lapse(claim=claim, at=at)
    )
    today = paris_today(at=at)
    reminded = {
        f"deadline:{c.pk}:{rule(c).isoformat()}:30"
        for c in Claim.objects.filter(pk__in=drafts_where(lambda deadline: 0 <= (deadline - today).days <= 30))
    }
    assert services.send_deadline_reminders(today=today, thresholds=[30]) == len(reminded)
    assert set(SentNotification.objects.filter(key__startswith="deadline:").values_list("key", flat=True)) == reminded

    overdue = drafts_where(lambda deadline: deadline < today)
    assert services.lapse_overdue_drafts(at=at) == len(overdue)
    assert sorted(tried) == sorted(overdue)
    assert set(Claim.objects.filter(state=ClaimState.LAPSED).values_list("pk", flat=True)) == overdue
    claim.refresh_from_db()
    assert (claim.state == ClaimState.LAPSED) == (expected < today)


def drafts_left_alone(code, count, today):
    """`count` drafts the jobs must skip: balance claims due in 60 days, half of them extended further."""
    campaign = segur_campaign(code, today=today, advance_in=-5, balance_in=60)
    granted_by = validator()
    for n in range(count):
        operator = OperatorFactory()
        Claim.objects.create(operator=operator, campaign=campaign, kind=BALANCE)
        if n % 2:
            DeadlineExtension.objects.create(
                operator=operator,
                campaign=campaign,
                kind=BALANCE,
                new_deadline=today + timedelta(days=90),
                reason="Test",
                granted_by=granted_by,
            )


def job_queries(at):
    with CaptureQueriesContext(connection) as queries:
        assert services.lapse_overdue_drafts(at=at) == 0
        assert services.send_deadline_reminders(today=paris_today(at=at), thresholds=[14, 7, 1]) == 0
    return len(queries)


def test_daily_jobs_spend_no_query_per_draft_they_leave_alone():
    at = timezone.now()
    drafts_left_alone("few", 3, paris_today(at=at))
    few = job_queries(at)
    drafts_left_alone("many", 30, paris_today(at=at))
    assert Claim.objects.filter(state=ClaimState.DRAFT).count() == 33
    assert job_queries(at) == few == 2
