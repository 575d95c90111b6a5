"""The one transition routine of every state machine (common.workflow.Workflow.fire): a refused
transition writes nothing, a lost race is refused, effects run only after commit."""

import pytest
from django.db import transaction

from claims.enums import ClaimState
from claims.models import Claim, ClaimEvent
from claims.workflow import ClaimWorkflow
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from common.roles import Role
from common.workflow import Transition
from tests.factories import OperatorFactory, operator_user, ready_advance

pytestmark = pytest.mark.django_db

S = ClaimState


def refuse(claim, *, actor, at):
    return ["Il manque une pièce."]


def accept(claim, *, actor, at):
    return []


# A table of its own on the claims' model and history: the routine, not the claims' rules, is tested.
WORKFLOW = ClaimWorkflow(
    Transition("file", "Déposer", (S.DRAFT,), S.SUBMITTED, Role.OPERATOR, guards=(accept,)),
    Transition("blocked", "Déposer", (S.DRAFT,), S.SUBMITTED, Role.OPERATOR, guards=(accept, refuse)),
    Transition("explain", "Retirer", (S.DRAFT,), S.WITHDRAWN, Role.OPERATOR, comment_required=True),
)


def journal(claim):
    claim.refresh_from_db()
    return claim.state, claim.audit_head, list(ClaimEvent.objects.filter(claim=claim).values_list("pk", flat=True))


def test_a_transition_moves_the_state_and_chains_one_event():
    claim, user = ready_advance()
    _state, head, events = journal(claim)
    fired = WORKFLOW.fire(claim, "file", actor=user, comment="Dépôt.")
    assert fired.state == S.SUBMITTED
    event = ClaimEvent.objects.filter(claim=claim).exclude(pk__in=events).get()
    assert (event.action, event.from_state, event.to_state, event.prev_hash) == ("file", S.DRAFT, S.SUBMITTED, head)
    assert journal(claim)[1] == event.hash


def test_a_refused_guard_leaves_the_state_and_the_journal_unchanged():
    claim, user = ready_advance()
    before = journal(claim)
    prepared = []
    with pytest.raises(GuardFailed) as refused:
        WORKFLOW.fire(claim, "blocked", actor=user, prepare=lambda locked: prepared.append(locked) or {})
    assert refused.value.errors == {"guards": ["Il manque une pièce."]}
    assert "Il manque une pièce." in refused.value.message
    assert prepared == []  # nothing computed for a refused transition
    assert journal(claim) == before


@pytest.mark.parametrize(
    ("name", "who", "error"),
    [
        ("file", "stranger", NotAllowed),  # another operator's user
        ("explain", "owner", InvalidInput),  # a reason is required
    ],
)
def test_who_and_the_comment_are_checked_before_anything_is_written(name, who, error):
    claim, user = ready_advance()
    actor = user if who == "owner" else operator_user(OperatorFactory())
    before = journal(claim)
    with pytest.raises(error):
        WORKFLOW.fire(claim, name, actor=actor)
    assert journal(claim) == before


def test_a_second_transition_from_the_same_source_is_refused():
    claim, user = ready_advance()
    stale = Claim.objects.get(pk=claim.pk)  # read by a second request before the first one fires
    WORKFLOW.fire(claim, "file", actor=user)
    after_first = journal(claim)
    with pytest.raises(StateConflict) as refused:
        WORKFLOW.fire(stale, "file", actor=user)
    assert "la demande est « Déposée »" in refused.value.message
    assert journal(claim) == after_first


def test_a_state_changed_between_the_check_and_the_write_is_a_lost_race():
    """Without the row lock (or when it is bypassed), the conditional update is the last guard: a
    concurrent write between the checks and the update makes it count 0 rows, and nothing is kept."""
    claim, user = ready_advance()
    before = journal(claim)

    def concurrent_withdrawal(locked):
        Claim.objects.filter(pk=locked.pk).update(state=S.WITHDRAWN)
        return {}

    with pytest.raises(StateConflict) as refused, transaction.atomic():
        WORKFLOW.fire(claim, "file", actor=user, prepare=concurrent_withdrawal)
    assert refused.value.message == WORKFLOW.stale_message
    assert journal(claim) == before  # the concurrent write itself rolled back with the transaction


def test_effects_run_only_after_commit(django_capture_on_commit_callbacks):
    claim, user = ready_advance()
    sent = []
    with django_capture_on_commit_callbacks() as callbacks:
        WORKFLOW.fire(claim, "file", actor=user, effects=[lambda: sent.append("e-mail")])
        assert sent == []  # not inside the transaction
    for callback in callbacks:
        callback()
    assert sent == ["e-mail"]


def test_effects_of_a_rolled_back_transition_never_run(django_capture_on_commit_callbacks):
    claim, user = ready_advance()
    sent = []
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        WORKFLOW.fire(claim, "file", actor=user, effects=[lambda: sent.append("e-mail")])
        raise RuntimeError("the caller's next step failed")
    assert sent == []
    assert journal(claim)[0] == S.DRAFT


def test_abilities_read_the_table_who_state_and_guards():
    claim, user = ready_advance()
    assert WORKFLOW.abilities(user=user, obj=claim) == {"file": True, "blocked": False, "explain": True}
    assert WORKFLOW.abilities(user=user, obj=claim, guards=False) == {"file": True, "blocked": True, "explain": True}
    stranger = operator_user(OperatorFactory())
    assert not any(WORKFLOW.abilities(user=stranger, obj=claim).values())
