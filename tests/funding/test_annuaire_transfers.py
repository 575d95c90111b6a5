"""A park transferred between two operators is funded once per campaign (set difference on addresses)."""

from datetime import date, datetime

import pytest

from claims import services as claim_services
from funding import annuaire, selectors, services
from funding.calendar import PARIS
from funding.models import CountedMailbox, MailboxCount
from operators.models import MailDomain
from tests.factories import OperatorFactory, agent, paid, ready_advance, segur_campaign
from tests.funding.annuaire_utils import AFTER_CLOSURE, extraction, row

pytestmark = pytest.mark.django_db

CLOSURE = date(2023, 6, 30)
FILED = datetime(2023, 7, 3, 10, tzinfo=PARIS)
PARK = [row("PER", f"medecin{n}@parc.mssante.fr") for n in range(5)] + [row("ORG", "accueil@parc.mssante.fr")]


@pytest.fixture
def setting(tmp_path):
    campaign = segur_campaign(closure=CLOSURE)
    seller = OperatorFactory(eligible=True, legal_name="Cédant")
    buyer = OperatorFactory(eligible=True, legal_name="Repreneur")
    MailDomain.objects.create(operator=seller, name="cedant.mssante.fr")
    MailDomain.objects.create(operator=seller, name="parc.mssante.fr")
    MailDomain.objects.create(operator=buyer, name="repreneur.mssante.fr")
    rows = [*PARK, row("PER", "a@cedant.mssante.fr"), row("PER", "b@repreneur.mssante.fr")]
    services.annuaire_import(path=extraction(tmp_path, rows, name=AFTER_CLOSURE), as_of=CLOSURE)
    return campaign, seller, buyer


def transfer_park(seller, buyer):
    """The agency learns the park moved on 1 June: the domain's periods are corrected after the fact."""
    MailDomain.objects.filter(operator=seller, name="parc.mssante.fr").update(valid_until=date(2023, 5, 31))
    MailDomain.objects.create(operator=buyer, name="parc.mssante.fr", valid_from=date(2023, 6, 1))


def submitted(operator, campaign):
    """An advance filed just after the closure: APP from an agent's entry, ORG and PER from the directory."""
    claim, user = ready_advance(operator=operator, campaign=campaign, at=FILED)
    MailboxCount.objects.filter(operator=operator).exclude(mailbox_type="APP").delete()
    return claim_services.claim_submit(claim=claim, actor=user, at=FILED)


def test_a_park_funded_for_one_operator_is_not_counted_again_for_the_other(setting):
    campaign, seller, buyer = setting
    first = submitted(seller, campaign)
    assert first.counts == {"APP": 10, "ORG": 1, "PER": 6}
    paid(first)
    assert CountedMailbox.objects.filter(campaign=campaign, operator=seller).count() == 7

    transfer_park(seller, buyer)
    second = submitted(buyer, campaign)
    # Without the set difference the buyer would get the 5 PER and 1 ORG of the park again.
    assert second.counts == {"APP": 10, "ORG": 0, "PER": 1}
    assert "5 BAL déjà financées" in second.breakdown["count_sources"]["PER"]["detail"]
    assert "1 BAL déjà financées" in second.breakdown["count_sources"]["ORG"]["detail"]
    assert set(CountedMailbox.objects.filter(operator=buyer).values_list("address", flat=True)) == {
        "b@repreneur.mssante.fr"
    }


def test_an_approved_claim_is_enough_to_protect_the_addresses(setting):
    campaign, seller, buyer = setting
    first = submitted(seller, campaign)
    instructor = agent()
    first = claim_services.claim_take(claim=first, actor=instructor)
    claim_services.claim_approve(claim=first, actor=instructor)
    transfer_park(seller, buyer)
    assert submitted(buyer, campaign).counts["PER"] == 1


@pytest.mark.parametrize("outcome", ["submitted", "rejected", "withdrawn"])
def test_a_claim_that_was_never_approved_protects_nothing(setting, outcome):
    campaign, seller, buyer = setting
    first = submitted(seller, campaign)
    if outcome == "rejected":
        instructor = agent()
        first = claim_services.claim_take(claim=first, actor=instructor)
        claim_services.claim_reject(claim=first, actor=instructor, comment="Non conforme.")
    elif outcome == "withdrawn":
        claim_services.claim_withdraw(claim=first, actor=first.operator.memberships.get().user)
    transfer_park(seller, buyer)
    assert submitted(buyer, campaign).counts == {"APP": 10, "ORG": 1, "PER": 6}


def test_another_campaign_counts_the_park_again(setting):
    campaign, seller, buyer = setting
    paid(submitted(seller, campaign))
    transfer_park(seller, buyer)
    later = segur_campaign(code="campagne-suivante", closure=CLOSURE)
    assert submitted(buyer, later).counts["PER"] == 6


def test_the_funding_side_only_uses_the_operators_it_is_given(setting):
    campaign, seller, buyer = setting
    services.claim_counts_freeze(campaign=campaign, operator=seller, basis=selectors.closure_basis(campaign))
    transfer_park(seller, buyer)
    assert (
        services.claim_counts_freeze(campaign=campaign, operator=buyer, basis=selectors.closure_basis(campaign)).counts[
            "PER"
        ]
        == 6
    )
    kept = services.claim_counts_freeze(
        campaign=campaign, operator=buyer, basis=selectors.closure_basis(campaign), funded_operator_ids={seller.pk}
    )
    assert kept.counts["PER"] == 1
    assert kept.excluded == {"PER": 5, "ORG": 1}


def test_the_all_operators_statement_agrees_with_each_claim_freeze(setting):
    campaign, seller, buyer = setting
    services.claim_counts_freeze(campaign=campaign, operator=seller, basis=selectors.closure_basis(campaign))
    transfer_park(seller, buyer)
    snapshot = selectors.closure_snapshot(campaign)
    counts = annuaire.funded_counts_by_operator(
        snapshot_id=snapshot.pk, day=CLOSURE, campaign_id=campaign.pk, funded_operator_ids={seller.pk}
    )
    assert counts == {(seller.pk, "PER"): 1, (buyer.pk, "PER"): 1}
    frozen = services.claim_counts_freeze(
        campaign=campaign, operator=buyer, basis=selectors.closure_basis(campaign), funded_operator_ids={seller.pk}
    )
    assert frozen.counts["PER"] == counts[(buyer.pk, "PER")]
    unprotected = annuaire.funded_counts_by_operator(
        snapshot_id=snapshot.pk, day=CLOSURE, campaign_id=campaign.pk, funded_operator_ids=()
    )
    assert unprotected[(buyer.pk, "PER")] == 6
