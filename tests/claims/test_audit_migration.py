"""The migration re-seals intact SHA-256 chains under the audit key, and leaves a chain that was
already broken as it is, so `verify_audit` still reports it (re-sealing never launders a rewrite)."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from claims.audit import claim_audit_problem
from claims.models import Claim, ClaimEvent
from tests.claims.audit_tools import plain_sha256, tamper
from tests.factories import claim_in_state

pytestmark = [pytest.mark.migrations, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BEFORE = [("claims", "0010_recovery_observations"), ("operators", "0008_api_tokens")]


def test_intact_chains_are_resealed_and_broken_ones_left_to_be_reported(migrate_to, settings):
    intact, _ = claim_in_state("paid")
    broken, _ = claim_in_state("submitted")

    old_apps = migrate_to(BEFORE)  # back to plain SHA-256 chains
    OldEvent = old_apps.get_model("claims", "ClaimEvent")
    for event in OldEvent.objects.filter(claim_id=intact.pk):
        assert event.hash == plain_sha256(event, event.prev_hash)
    tamper("UPDATE claims_claimevent SET comment = 'réécrit' WHERE claim_id = %s AND seq = 1", [broken.pk])

    migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())

    assert set(ClaimEvent.objects.filter(claim_id=intact.pk).values_list("key_id", flat=True)) == {
        settings.AUDIT_KEY_ID
    }
    assert set(ClaimEvent.objects.filter(claim_id=broken.pk).values_list("key_id", flat=True)) == {""}
    with pytest.raises(CommandError, match=f"demande n° {broken.pk} : .* pas scellé"):
        call_command("verify_audit")
    intact = Claim.objects.get(pk=intact.pk)  # the re-sealed chain verifies under the audit key
    assert claim_audit_problem(intact, list(ClaimEvent.objects.filter(claim=intact).order_by("seq"))) is None
