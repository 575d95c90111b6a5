"""One French label per event action (common.labels), found wherever the code writes an action, and every
history time in Paris time."""

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from claims import emails, services
from claims.workflow import BATCH_TRANSITIONS, TRANSITIONS
from common.formatting import paris_datetime
from common.labels import (
    BANK_DETAILS_EVENT_LABELS,
    BATCH_EVENT_LABELS,
    CLAIM_EVENT_LABELS,
    ENROLMENT_EVENT_LABELS,
    claim_event_label,
)
from operators.services.bank_details import BANK_DETAILS_DECISIONS
from operators.services.enrolment import ENROLMENT_TRANSITIONS
from tests.factories import agent, claim_in_state

ROOT = Path(__file__).resolve().parents[2]
# Where claim events are written (the benchmark's bulk loader writes them too), and enrolment events.
CLAIM_SOURCES = ["claims", "bench"]
ENROLMENT_SOURCES = ["operators"]


def _sources(folders):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _text(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def written_actions(folders):
    """Every literal action the code writes: `action="…"` keyword arguments, the recoveries' `_log(claim,
    actor, "…", …)` and the benchmark loader's `event("…", …)`."""
    found = set()
    for path in _sources(folders):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            for keyword in node.keywords:
                if keyword.arg == "action" and _text(keyword.value) and name != "add_argument":  # argparse
                    found.add(_text(keyword.value))
            if name == "_log" and len(node.args) >= 3 and _text(node.args[2]):
                found.add(_text(node.args[2]))
            if name == "event" and node.args and _text(node.args[0]):
                found.add(_text(node.args[0]))
    return found


def test_the_collector_finds_the_actions_written_outside_the_transition_tables():
    actions = written_actions(CLAIM_SOURCES)
    assert {"create", "update", "document", "letter", "extend_deadline", "recovery_open", "recovery_settled"} <= actions
    assert "submit" in written_actions(ENROLMENT_SOURCES)


def test_every_claim_and_batch_action_has_a_french_label():
    actions = written_actions(CLAIM_SOURCES) | set(TRANSITIONS) | set(BATCH_TRANSITIONS)
    actions |= emails.NOTIFIED_ACTIONS | emails.OPERATOR_ACTIONS
    labelled = set(CLAIM_EVENT_LABELS) | set(BATCH_EVENT_LABELS)
    assert actions - labelled == set(), "add these actions to common.labels (claims or batches)"
    # And no label for an action nothing writes (a typo would leave the real one unlabelled).
    assert labelled - actions == set()


def test_every_enrolment_and_bank_details_action_has_a_french_label():
    actions = written_actions(ENROLMENT_SOURCES) | set(ENROLMENT_TRANSITIONS) | set(BANK_DETAILS_DECISIONS)
    labelled = set(ENROLMENT_EVENT_LABELS) | set(BANK_DETAILS_EVENT_LABELS)
    assert actions - labelled == set()
    assert labelled - actions == set()


def test_labels_are_noun_phrases_distinct_from_the_buttons_verbs():
    for name, transition in TRANSITIONS.items():
        assert CLAIM_EVENT_LABELS[name] != transition.label
    assert claim_event_label("submit") == "Dépôt de la demande"
    assert claim_event_label("take") == "Prise en charge"
    assert claim_event_label("unknown_action") == "unknown_action"  # never a crash on an old row


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (datetime(2026, 12, 1, 13, 9, tzinfo=UTC), "01/12/2026 14:09"),  # winter: UTC+1
        (datetime(2026, 7, 1, 22, 30, tzinfo=UTC), "02/07/2026 00:30"),  # summer: UTC+2, next day in Paris
        (None, "—"),
    ],
)
def test_history_times_are_paris_wall_clock_times(instant, text):
    assert paris_datetime(instant) == text
    with timezone.override("UTC"):  # whatever the active time zone
        assert paris_datetime(instant) == text
        assert Template("{% load formatting %}{{ t|paris_datetime }}").render(Context({"t": instant})) == text


@pytest.mark.django_db
def test_claim_history_shows_labels_and_paris_times_in_admin_portal_and_api(client):
    claim, user = claim_in_state("submitted")
    submit = claim.events.get(action="submit")
    paris, utc = paris_datetime(submit.at), submit.at.astimezone(UTC).strftime("%d/%m/%Y %H:%M")
    assert paris != utc
    assert str(submit) == f"{paris} {submit.actor_label} : Dépôt de la demande"

    client.force_login(agent())
    page = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert "Dépôt de la demande" in page and paris in page and utc not in page
    assert "Création de la demande" in page and "Brouillon → Déposée" in page

    client.force_login(user)
    page = client.get(reverse("portal:claim", args=[claim.pk])).content.decode()
    assert "<td>Dépôt de la demande</td>" in page and paris in page and utc not in page

    api = APIClient()
    api.force_authenticate(user)
    events = api.get(f"/api/v1/claims/{claim.pk}/events").json()["results"]
    by_action = {event["action"]: event for event in events}
    assert by_action["submit"]["action_label"] == "Dépôt de la demande"
    assert datetime.fromisoformat(by_action["submit"]["at"]) == submit.at


@pytest.mark.django_db
def test_event_emails_name_the_action_in_french_with_paris_time(mailoutbox, django_capture_on_commit_callbacks):
    claim, _user = claim_in_state("submitted")
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_take(claim=claim, actor=agent())
    event = claim.events.get(action="take")
    body = mailoutbox[-1].body
    assert f"Prise en charge par {event.actor_label}, le {paris_datetime(event.at)} (heure de Paris)." in body
