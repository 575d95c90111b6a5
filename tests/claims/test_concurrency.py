"""Concurrent requests on one claim give exactly one transition (PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection

from claims import services
from claims.enums import ClaimState
from claims.models import Claim, ClaimEvent
from common.exceptions import StateConflict
from tests.factories import ready_advance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_twenty_concurrent_submits_give_one_transition_and_nineteen_conflicts():
    claim, user = ready_advance()
    barrier = threading.Barrier(20)
    outcomes = []
    lock = threading.Lock()

    def submit():
        try:
            barrier.wait(timeout=30)
            services.claim_submit(claim=Claim(pk=claim.pk, operator_id=claim.operator_id), actor=user)
            result = "ok"
        except StateConflict:
            result = "conflict"
        except Exception as exc:  # anything else is a bug the assertion below will show
            result = repr(exc)
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["conflict"] * 19 + ["ok"]
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.SUBMITTED
    assert ClaimEvent.objects.filter(claim_id=claim.pk, action="submit").count() == 1
