"""The dashboard's « Prochaine échéance »: the nearest date on which the operator must act."""

from datetime import timedelta

import pytest
from django.urls import reverse

from claims import services
from claims.enums import ClaimKind
from funding.calendar import paris_today
from portal import helpers
from tests.factories import claim_in_state

pytestmark = pytest.mark.django_db


def next_of(alpha, campaign):
    [block] = [b for b in helpers.dashboard_blocks(user=alpha.user, operator=alpha.operator) if b.campaign == campaign]
    return block.next_deadline


def test_a_draft_is_due_by_its_filing_deadline(alpha, campaign):
    draft = services.claim_create(operator=alpha.operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=alpha.user)
    deadline = next_of(alpha, campaign)
    assert deadline.date == campaign.advance_deadline
    assert deadline.what == f"déposer la demande d'avance n° {draft.pk}"


def test_an_unfiled_claim_that_may_be_opened_is_due_by_its_deadline(alpha, campaign):
    deadline = next_of(alpha, campaign)
    assert deadline.date == campaign.advance_deadline and deadline.what == "créer et déposer la demande d'avance"


def test_a_correction_due_sooner_than_any_deadline_comes_first(client, alpha, campaign, instructor):
    claim, user = claim_in_state("in_review", operator=alpha.operator, campaign=campaign, user=alpha.user)
    due = paris_today() + timedelta(days=5)
    services.claim_request_changes(claim=claim, actor=claim.assigned_to, comment="Rapport illisible.", due=due)
    deadline = next_of(alpha, campaign)
    assert deadline.date == due and f"avance n° {claim.pk}" in deadline.what
    client.force_login(user)
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert "Prochaine échéance" in page and "répondre aux compléments demandés sur l&#x27;avance" in page


def test_a_filed_advance_asks_nothing_while_the_balance_may_not_be_opened(alpha, campaign):
    claim_in_state("submitted", operator=alpha.operator, campaign=campaign, user=alpha.user)
    assert next_of(alpha, campaign) is None  # waiting for the agency: no date of the operator's


def test_after_the_advance_is_paid_the_next_date_is_the_balance_deadline(alpha, campaign):
    claim_in_state("paid", operator=alpha.operator, campaign=campaign, user=alpha.user)
    deadline = next_of(alpha, campaign)
    assert deadline is not None and deadline.date == campaign.balance_deadline
    assert deadline.date != campaign.advance_deadline and "solde" in deadline.what
