"""Operators whose mailbox growth outpaces everyone's are flagged, with their figures."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from common.exceptions import InvalidInput
from funding import services
from funding.models import GrowthCheck
from tests.factories import segur_campaign
from tests.funding.annuaire_utils import AFTER_CLOSURE, extraction, operator_with_domains, row

pytestmark = pytest.mark.django_db

REFERENCE, CLOSURE = date(2023, 1, 1), date(2023, 6, 30)


def mailboxes(domain, count, kind="PER", prefix="m"):
    return [row(kind, f"{prefix}{n}@{domain}") for n in range(count)]


@pytest.fixture
def parks(tmp_path, settings):
    settings.ANOMALY_GROWTH_FACTOR = "2.0"
    settings.ANOMALY_MIN_INCREASE = 20
    steady = operator_with_domains("steady.mssante.fr", legal_name="Stable")
    small = operator_with_domains("small.mssante.fr", legal_name="Petit")
    surge = operator_with_domains("surge.mssante.fr", legal_name="Envolée")
    newcomer = operator_with_domains("new.mssante.fr", legal_name="Nouveau")
    (tmp_path / "ref").mkdir()
    before = mailboxes("steady.mssante.fr", 100) + mailboxes("small.mssante.fr", 2) + mailboxes("surge.mssante.fr", 20)
    services.annuaire_import(path=extraction(tmp_path / "ref", before), as_of=REFERENCE)
    after = (
        mailboxes("steady.mssante.fr", 110)
        + mailboxes("small.mssante.fr", 10)  # ×5 but only +8: under the minimum increase
        + mailboxes("surge.mssante.fr", 60, kind="ORG", prefix="o")  # 20 → 80: ×4
        + mailboxes("surge.mssante.fr", 20)
        + mailboxes("new.mssante.fr", 25)  # absent from the reference: a newcomer
    )
    services.annuaire_import(path=extraction(tmp_path, after, name=AFTER_CLOSURE), as_of=CLOSURE)
    return {"steady": steady, "small": small, "surge": surge, "newcomer": newcomer}


def test_operators_growing_much_faster_than_all_are_flagged(parks):
    campaign = segur_campaign(closure=CLOSURE)
    checks = {check.operator_id: check for check in services.growth_checks_refresh(campaign=campaign)}
    overall = checks[parks["steady"].pk].overall_growth
    assert float(overall) == pytest.approx(225 / 122, abs=1e-4)
    surge = checks[parks["surge"].pk]
    assert (surge.reference_count, surge.closure_count, surge.growth) == (20, 80, 4)
    assert surge.flagged
    assert checks[parks["newcomer"].pk].growth is None
    assert checks[parks["newcomer"].pk].growth_label == "nouvel entrant"
    assert not checks[parks["newcomer"].pk].flagged  # never flagged as an infinite growth
    assert not checks[parks["steady"].pk].flagged
    assert not checks[parks["small"].pk].flagged  # ×5 but only 8 more mailboxes
    assert GrowthCheck.objects.filter(campaign=campaign, flagged=True).count() == 1


def test_the_factor_is_configurable(parks, settings):
    settings.ANOMALY_GROWTH_FACTOR = "3.0"
    campaign = segur_campaign(closure=CLOSURE)
    services.growth_checks_refresh(campaign=campaign)
    assert not GrowthCheck.objects.get(operator=parks["surge"]).flagged  # ×4 is under ×1.84 × 3
    assert not GrowthCheck.objects.get(operator=parks["newcomer"]).flagged  # a newcomer, +25
    settings.ANOMALY_GROWTH_FACTOR = "2.5"
    settings.ANOMALY_MIN_INCREASE = 100
    services.growth_checks_refresh(campaign=campaign)
    assert not GrowthCheck.objects.filter(flagged=True).exists()


def test_a_reference_date_on_the_campaign_picks_the_reference_snapshot(parks):
    campaign = segur_campaign(closure=CLOSURE)
    campaign.reference_date = CLOSURE
    campaign.save()
    with pytest.raises(InvalidInput):
        services.growth_checks_refresh(campaign=campaign)  # the closure itself is no reference
    campaign.reference_date = REFERENCE
    campaign.save()
    assert services.growth_checks_refresh(campaign=campaign)


def test_refresh_refuses_without_the_closure_snapshot():
    with pytest.raises(InvalidInput, match="générée après la clôture"):
        services.growth_checks_refresh(campaign=segur_campaign(closure=CLOSURE))


def test_check_growth_command_prints_the_flagged_operators(parks):
    segur_campaign(code="c1", closure=CLOSURE)
    out = StringIO()
    call_command("check_growth", "--campaign", "c1", stdout=out)
    assert "1 signalé(s)" in out.getvalue()
    assert "Envolée" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("check_growth", "--campaign", "inconnue", stdout=out)
