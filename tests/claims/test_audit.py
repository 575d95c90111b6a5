"""The audit trail is append-only and tamper-evident."""

import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from claims.audit import event_hash
from claims.models import ClaimEvent
from tests.claims.audit_tools import tamper
from tests.factories import claim_in_state

pytestmark = pytest.mark.django_db


def test_every_event_is_chained_to_the_previous_one():
    claim, _ = claim_in_state("paid")
    events = list(claim.events.order_by("seq"))
    assert events[0].prev_hash == "0" * 64
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
        assert event.hash == event_hash(event)
    claim.refresh_from_db()
    assert claim.audit_head == events[-1].hash


def test_events_cannot_be_changed_or_deleted_through_the_orm():
    claim, _ = claim_in_state("submitted")
    event = claim.events.first()
    event.comment = "réécrit"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        ClaimEvent.objects.filter(pk=event.pk).update(comment="x")
    with pytest.raises(PermissionError):
        ClaimEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.postgres
def test_postgresql_trigger_refuses_raw_updates_and_deletes():
    claim, _ = claim_in_state("submitted")
    event = claim.events.first()
    for sql in (
        "UPDATE claims_claimevent SET comment = 'x' WHERE id = %s",
        "DELETE FROM claims_claimevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])


def test_verify_audit_passes_on_an_intact_log(capsys):
    claim_in_state("paid")
    call_command("verify_audit")
    assert "Journal d'audit intègre" in capsys.readouterr().out


def test_verify_audit_names_the_row_that_was_tampered_with():
    claim, _ = claim_in_state("paid")
    target = claim.events.get(action="approve")
    tamper("UPDATE claims_claimevent SET comment = %s WHERE id = %s", ["Approuvé sans réserve", target.pk])
    with pytest.raises(CommandError) as error:
        call_command("verify_audit")
    assert f"événement n° {target.pk}" in str(error.value)
    assert "modifié" in str(error.value)


def test_verify_audit_detects_a_deleted_last_row():
    claim, _ = claim_in_state("paid")
    last = claim.events.order_by("-seq").first()
    tamper("DELETE FROM claims_claimevent WHERE id = %s", [last.pk])
    with pytest.raises(CommandError, match="tête de chaîne"):
        call_command("verify_audit")


def test_verify_audit_detects_a_deleted_middle_row():
    claim, _ = claim_in_state("paid")
    middle = claim.events.get(action="take")
    tamper("DELETE FROM claims_claimevent WHERE id = %s", [middle.pk])
    with pytest.raises(CommandError, match="ligne manquante"):
        call_command("verify_audit")
