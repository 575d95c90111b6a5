"""`seed_demo`, what `make run` shows: Annuaire extractions through the real import, quiet, re-runnable."""

from io import StringIO

import pytest
from django.core.management import call_command

from claims.models import Claim
from funding import annuaire, selectors
from funding.models import AnnuaireSnapshot, Campaign, GrowthCheck

pytestmark = pytest.mark.django_db


def test_seed_demo_imports_two_extractions_flags_growth_and_freezes_annuaire_counts(mailoutbox):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    campaign = Campaign.objects.get(code="demo")

    closure = selectors.snapshot_at(campaign.closure_date)
    reference = selectors.reference_snapshot(campaign)
    assert closure is not None and reference is not None and reference.as_of < closure.as_of
    assert closure.error_count == 1  # the bad line the demo file carries on purpose
    assert closure.by_type["CAB"] == 3
    unknown = annuaire.unknown_domains(closure.pk, closure.as_of)
    assert set(unknown) == {"cabinet-sans-operateur.mssante.fr", "ehpad-des-tilleuls.mssante.fr"}

    flagged = list(
        GrowthCheck.objects.filter(campaign=campaign, flagged=True).values_list("operator__legal_name", flat=True)
    )
    assert flagged == ["Zeta Biologie"]

    claim = (
        Claim.objects.filter(campaign=campaign, operator__legal_name="Alpha Santé Messagerie").order_by("pk").first()
    )
    sources = claim.breakdown["count_sources"]
    assert sources["PER"]["source"] == "annuaire" and sources["ORG"]["source"] == "annuaire"
    assert sources["APP"]["source"] == "agent_entry"  # APP is not in the public file
    assert claim.counts == {"APP": 120, "ORG": 2400, "PER": 31000}

    # The demo's e-mails are not printed (nor sent), and a second run changes nothing.
    assert "Content-Type" not in out.getvalue()
    assert mailoutbox == []
    again = StringIO()
    call_command("seed_demo", stdout=again)
    assert "déjà présentes : inchangées" in again.getvalue()
    assert AnnuaireSnapshot.objects.count() == 2
