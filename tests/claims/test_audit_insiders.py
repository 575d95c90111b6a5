"""The journal against someone who can write to the database but does not hold the audit key:
TRUNCATE refused, a rewritten row detected even with a recomputed SHA-256 chain, an emptied journal
detected, states changed outside the journal detected, checkpoints (signed, time-stamped by a real
RFC 3161 responder) that the chains must extend."""

import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from claims import services
from claims.audit import audit_anchor, read_checkpoint_file
from claims.enums import ClaimState
from claims.models import AuditCheckpoint, Claim, ClaimEvent
from claims.tasks import anchor_audit
from common.audit import GENESIS
from config.celery import app
from operators import services as services_ops
from operators.models import Enrolment
from tests.claims.audit_tools import plain_sha256, tamper
from tests.claims.tsa import OPENSSL, TimeStampAuthority
from tests.factories import agent, claim_in_state
from tests.factories import submit_enrolment as submit

pytestmark = pytest.mark.django_db


def verify(**options):
    call_command("verify_audit", **options)


def fails(match, **options):
    with pytest.raises(CommandError, match=match):
        verify(**options)


# --- (b) TRUNCATE ------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE claims_claimevent CASCADE",
        "TRUNCATE claims_claim CASCADE",
        "TRUNCATE operators_enrolmentevent CASCADE",
        "TRUNCATE claims_auditcheckpoint",
    ],
)
def test_postgresql_refuses_truncating_the_journal(sql):
    claim_in_state("submitted")
    audit_anchor()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own pending FK checks, out of the way
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert ClaimEvent.objects.exists() and AuditCheckpoint.objects.exists()


@pytest.mark.postgres
def test_postgresql_refuses_rewriting_a_checkpoint():
    checkpoint = audit_anchor()
    for sql in (
        "UPDATE claims_auditcheckpoint SET document = '{}' WHERE id = %s",
        "DELETE FROM claims_auditcheckpoint WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [checkpoint.pk])


# --- (a) HMAC chain ------------------------------------------------------------------------------


def test_events_are_sealed_with_the_audit_key_and_its_id(settings):
    claim, _ = claim_in_state("submitted")
    assert set(claim.events.values_list("key_id", flat=True)) == {settings.AUDIT_KEY_ID}
    event = claim.events.first()
    assert event.hash != plain_sha256(event, event.prev_hash)


def test_a_rewritten_event_with_a_recomputed_sha256_chain_is_detected():
    claim, _ = claim_in_state("paid")
    events = list(claim.events.order_by("seq"))
    target = next(event for event in events if event.action == "approve")
    target.comment = "Approuvé sans réserve"
    previous = GENESIS
    for event in events:  # the whole chain recomputed from the rewritten row on, and the head moved
        event.prev_hash = previous
        event.hash = plain_sha256(event, previous)
        tamper(
            "UPDATE claims_claimevent SET comment = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [event.comment, event.prev_hash, event.hash, event.pk],
        )
        previous = event.hash
    Claim.objects.filter(pk=claim.pk).update(audit_head=previous)
    fails(f"demande n° {claim.pk} : événement n° {events[0].pk} \\(rang 1\\) a été modifié")


def test_events_sealed_under_a_former_key_verify_while_it_is_kept(settings):
    claim_in_state("paid")
    old_id, old_key = settings.AUDIT_KEY_ID, settings.AUDIT_KEY
    settings.AUDIT_KEY_ID, settings.AUDIT_KEY = "2", "a-new-audit-key-after-rotation"
    settings.AUDIT_KEYS = {old_id: old_key}
    verify()
    settings.AUDIT_KEYS = {}
    fails(f"clé d'audit inconnue \\(« {old_id} »\\)")


@pytest.mark.process
def test_production_requires_an_audit_key_distinct_from_the_secret_key():
    base = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "x", "SECRET_KEY": "s" * 50}
    base.pop("AUDIT_KEY", None)
    for extra, message in (({}, "AUDIT_KEY est obligatoire"), ({"AUDIT_KEY": "s" * 50}, "distincte de SECRET_KEY")):
        result = subprocess.run(
            [sys.executable, "manage.py", "check"], env={**base, **extra}, capture_output=True, text=True, check=False
        )
        assert result.returncode != 0 and message in result.stderr


# --- (c) states and emptied journals -------------------------------------------------------------


def test_an_emptied_journal_with_blanked_heads_is_detected():
    claim, _ = claim_in_state("submitted")
    tamper("DELETE FROM claims_claimevent WHERE claim_id = %s", [claim.pk])
    Claim.objects.filter(pk=claim.pk).update(audit_head="")
    fails(f"demande n° {claim.pk} : aucun historique pour l'état « submitted »")


def test_an_emptied_enrolment_journal_is_detected():
    rep = services_ops.account_create(username="rep-vide", email="rep@vide.example", password="Un-mot-de-passe-s0lide")
    enrolment = submit(rep)
    tamper("DELETE FROM operators_enrolmentevent WHERE enrolment_id = %s", [enrolment.pk])
    Enrolment.objects.filter(pk=enrolment.pk).update(audit_head="")
    fails(f"enrôlement n° {enrolment.pk} : aucun historique")


def test_a_state_changed_outside_the_journal_is_detected():
    claim, _ = claim_in_state("in_review")
    Claim.objects.filter(pk=claim.pk).update(state=ClaimState.APPROVED)
    fails(f"demande n° {claim.pk} : l'état actuel « approved » n'est pas celui du dernier événement")


def test_a_draft_without_history_is_accepted_but_not_past_draft():
    claim, _ = claim_in_state("draft")
    tamper("DELETE FROM claims_claimevent WHERE claim_id = %s", [claim.pk])
    Claim.objects.filter(pk=claim.pk).update(audit_head="")
    verify()


# --- (d) checkpoints -----------------------------------------------------------------------------


def roll_back_quietly(claim, keep):
    """A consistent rollback an insider can do without the key: drop the last events, move the
    head and the state back to the kept ones. Only a checkpoint shows it."""
    kept = claim.events.get(seq=keep)
    tamper("DELETE FROM claims_claimevent WHERE claim_id = %s AND seq > %s", [claim.pk, keep])
    Claim.objects.filter(pk=claim.pk).update(audit_head=kept.hash, state=kept.to_state)


def test_a_quiet_rollback_passes_without_a_checkpoint_and_fails_with_one():
    claim, _ = claim_in_state("paid")
    roll_back_quietly(claim, keep=3)
    verify()  # consistent: nothing to see without a checkpoint

    other, _ = claim_in_state("paid")
    audit_anchor()
    roll_back_quietly(other, keep=3)
    fails(f"demande n° {other.pk} : l'historique ne prolonge plus le point de contrôle")


def test_chains_growing_after_a_checkpoint_still_extend_it(capsys):
    claim, _ = claim_in_state("submitted")
    audit_anchor()

    services.claim_take(claim=claim, actor=agent())
    verify()
    assert "prolonge le point de contrôle" in capsys.readouterr().out


def test_a_removed_claim_present_at_the_checkpoint_is_detected():
    claim, _ = claim_in_state("submitted")
    audit_anchor()
    tamper("DELETE FROM claims_claimevent WHERE claim_id = %s", [claim.pk])
    tamper("DELETE FROM claims_document WHERE claim_id = %s", [claim.pk])
    tamper("DELETE FROM claims_claim WHERE id = %s", [claim.pk])
    fails(f"demande n° {claim.pk} : présent\\(e\\)s au point de contrôle, disparu\\(e\\)s depuis")


def test_a_checkpoint_rewritten_without_the_key_is_detected():
    claim, _ = claim_in_state("paid")
    checkpoint = audit_anchor()
    roll_back_quietly(claim, keep=3)
    document = json.loads(checkpoint.document)
    document["claims"][str(claim.pk)] = [3, claim.events.get(seq=3).hash]
    tamper("UPDATE claims_auditcheckpoint SET document = %s WHERE id = %s", [json.dumps(document), checkpoint.pk])
    fails(f"point de contrôle n° {checkpoint.pk} : signature invalide")


def test_a_checkpoint_file_kept_outside_the_database_still_convicts(tmp_path, settings):
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "points")
    claim, _ = claim_in_state("paid")
    checkpoint = audit_anchor()
    (path,) = (tmp_path / "points").iterdir()
    tamper("DELETE FROM claims_auditcheckpoint WHERE id = %s", [checkpoint.pk])  # the insider drops it
    roll_back_quietly(claim, keep=3)
    verify()  # the database alone no longer shows it…
    fails("ne prolonge plus le point de contrôle", checkpoint=str(path))  # …the file does
    assert read_checkpoint_file(path).document == checkpoint.document


def test_anchor_audit_command_and_daily_task(tmp_path, capsys):
    claim_in_state("submitted")
    call_command("anchor_audit", output=str(tmp_path / "points"))
    assert "Point de contrôle n° " in capsys.readouterr().out
    assert len(list((tmp_path / "points").iterdir())) == 1
    assert anchor_audit.delay().get() == AuditCheckpoint.objects.latest().pk
    schedule = app.conf.beat_schedule["daily-audit-anchor"]
    assert schedule["task"] == "claims.tasks.anchor_audit"


# --- RFC 3161 time-stamps from a real responder (OpenSSL) ----------------------------------------


@pytest.fixture
def tsa(settings):
    if OPENSSL is None:
        pytest.skip("openssl is not installed: no local RFC 3161 responder")
    with TimeStampAuthority() as authority:
        settings.AUDIT_TSA_URL = authority.url
        settings.AUDIT_TSA_CA_FILE = str(authority.ca_file)
        yield authority


def test_a_checkpoint_is_time_stamped_by_the_authority_and_verified(tsa, capsys):
    claim_in_state("submitted")
    checkpoint = audit_anchor()
    assert tsa.requests == ["application/timestamp-query"]
    assert checkpoint.tsa_response and checkpoint.tsa_time and checkpoint.tsa_url == tsa.url
    verify()
    assert "Journal d'audit intègre" in capsys.readouterr().out


def test_a_stamp_from_another_authority_is_refused(tsa, settings):
    checkpoint = audit_anchor()
    with TimeStampAuthority() as other:  # another CA: the stamp no longer chains to the trusted one
        settings.AUDIT_TSA_CA_FILE = str(other.ca_file)
        fails(f"point de contrôle n° {checkpoint.pk} : jeton d'horodatage invalide")


def test_a_stamp_moved_onto_another_document_is_refused(tsa, settings):
    stamped = audit_anchor()
    settings.AUDIT_TSA_URL = ""
    claim_in_state("submitted")
    unstamped = audit_anchor()
    tamper(
        "UPDATE claims_auditcheckpoint SET tsa_response = %s, tsa_url = %s WHERE id = %s",
        [bytes(stamped.tsa_response), stamped.tsa_url, unstamped.pk],
    )
    fails(f"point de contrôle n° {unstamped.pk} : le jeton d'horodatage ne porte pas sur ce contenu")


def test_an_unreachable_authority_writes_no_checkpoint(settings):
    settings.AUDIT_TSA_URL = "http://127.0.0.1:9/tsa"
    with pytest.raises(CommandError, match="Point de contrôle non enregistré"):
        call_command("anchor_audit")
    assert not AuditCheckpoint.objects.exists()


def test_openssl_is_there_for_the_responder():
    """CI must exercise the real responder, not skip it."""
    assert OPENSSL is not None
