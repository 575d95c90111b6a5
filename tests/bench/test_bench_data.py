"""The benchmark's data set is one the product could have written: a small load through the bench's
own loader (bench/api_data.py, PostgreSQL COPY) passes verify_audit."""

import pytest
from django.core.management import call_command

from bench import api_data
from claims.enums import ClaimState
from claims.models import Claim, ClaimEvent, Payment


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_small_bench_data_set_passes_verify_audit(capsys):
    summary = api_data.load(api_data.Scale(operators=50, claims=200), log=lambda message: None)

    assert summary["operators"] == 50 and summary["claims"] >= 200
    assert ClaimEvent.objects.count() == summary["events"] > summary["claims"]
    # Claims along every path of the workflow, each paid one with its payment.
    assert {ClaimState.DRAFT, ClaimState.IN_REVIEW, ClaimState.PAID, ClaimState.REJECTED} <= set(
        Claim.objects.values_list("state", flat=True)
    )
    assert Payment.objects.count() == Claim.objects.filter(state=ClaimState.PAID).count() > 0
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "Journal d'audit intègre" in out
    assert f"{summary['events']} événements sur {summary['claims']} demandes" in out
