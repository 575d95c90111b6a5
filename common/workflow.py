"""One shape for every state machine of the product: a declared table, one transition routine.

Each app declares its machine as a `Workflow` subclass (the model, its history, how a row is
locked) holding a table of `Transition`s: source states, target, who may fire it and guards.
A guard is a function `(obj, *, actor, at) -> list[str]` returning, in French, what is missing;
an empty list means it passes. `Workflow.fire` is the only code that moves a state:

    lock the row (select_for_update) → check who, source state, comment and guards → conditional
    update `filter(pk=…, state=source).update(…)` (a count ≠ 1 is a lost race) → append the
    hash-chained event (common.audit) → effects after commit (`transaction.on_commit`).

`Workflow.abilities` answers "what may this user do here" from the same table, for the API, the
admin buttons and the portal.

Why not django-fsm-2: its conditions return a bare boolean and see only the instance, while our
guards must say *what* is missing and be evaluated at a given instant (deadline tests, the daily
job); a table this size reads as plainly as decorators.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from common import scanning
from common.audit import append_event
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from common.roles import Role, has_role

COMMENT_REQUIRED = "Un commentaire motivé est obligatoire pour cette action."

Guard = Callable[..., list[str]]


@dataclass(frozen=True)
class Transition:
    """One declared transition.

    `role` says who may fire it: a `Role` (Role.OPERATOR: a member of the object's operator,
    Role.SYSTEM: no actor, i.e. a job or an import), a tuple of roles (any of them), or a
    predicate `(user, obj) -> bool`. `action` names the history event (default: `name`).
    """

    name: str
    label: str
    sources: tuple
    target: str
    role: Any
    guards: tuple = ()
    comment_required: bool = False
    action: str = ""
    # What a failed guard raises (with `refusal_code`): GuardFailed unless the API documents another.
    refusal: type = GuardFailed
    refusal_code: str = ""

    @property
    def event_action(self) -> str:
        return self.action or self.name

    def failed_guards(self, obj, *, actor, at) -> list[str]:
        return [message for guard in self.guards for message in guard(obj, actor=actor, at=at)]


def failed_guards(transition, obj, *, actor, at):
    return transition.failed_guards(obj, actor=actor, at=at)


class Workflow(Mapping):
    """A table of transitions on `model`, read like a dict {name: Transition}.

    Subclasses set `model`, `event_model` and the French wording, and override the hooks below
    when their machine differs (how a row is locked, who counts as an operator, where its history
    is chained, what is notified).
    """

    model: Any = None
    event_model: Any = None
    noun = "l'objet"  # « Action « … » impossible : <noun> est « … » »
    stale_message = "L'objet vient d'être modifié par ailleurs ; rechargez-le."
    comment_message = COMMENT_REQUIRED
    comment_field = "comment"
    stamp_updated_at = False

    def __init__(self, *transitions: Transition):
        self.transitions = {t.name: t for t in transitions}

    # Mapping: TRANSITIONS["submit"], set(TRANSITIONS), TRANSITIONS.items()…
    def __getitem__(self, name):
        return self.transitions[name]

    def __iter__(self):
        return iter(self.transitions)

    def __len__(self):
        return len(self.transitions)

    # --- hooks ---------------------------------------------------------------------------------

    def lock(self, obj):
        """The row, locked for the transaction (with what the guards read)."""
        return self.model.objects.select_for_update(of=("self",)).get(pk=obj.pk)

    def operator_id(self, obj):
        """The operator whose members hold Role.OPERATOR on `obj` (None: nobody)."""
        return getattr(obj, "operator_id", None)

    def may(self, user, transition, obj) -> bool:
        """True when `user` holds the role `transition` requires on `obj`."""
        role = transition.role
        if callable(role) and not isinstance(role, str):
            return bool(role(user, obj))
        roles = role if isinstance(role, tuple) else (role,)
        return any(has_role(user, r, operator_id=self.operator_id(obj)) for r in roles)

    def state_of(self, obj) -> str:
        return obj.state

    def state_conflict(self, transition, obj) -> str:
        return f"Action « {transition.label} » impossible : {self.noun} est « {obj.get_state_display()} »."

    def append(self, locked, *, transition, source, actor, comment, at):
        """Append the transition's event to the chain of `locked`; the caller holds its lock."""
        return append_event(
            parent=locked,
            event_model=self.event_model,
            actor=actor,
            action=transition.event_action,
            from_state=source,
            to_state=transition.target,
            comment=comment,
            at=at,
        )

    def refresh(self, locked):
        """Re-read `locked` before the `after` step (what the database holds, not what was set)."""
        locked.refresh_from_db()

    def notify(self, event):
        """Scheduled after commit with the event written (e-mails, webhooks); nothing by default."""

    def reload(self, obj):
        return self.model.objects.get(pk=obj.pk)

    # --- reading the table -----------------------------------------------------------------------

    def options(self, *, user, obj, at=None):
        """[(transition, missing)] for the transitions `user` could fire from `obj`'s state; an empty
        `missing` means it may be fired now."""
        at = at or timezone.now()
        return [
            (transition, transition.failed_guards(obj, actor=user, at=at))
            for transition in self.transitions.values()
            if self.state_of(obj) in transition.sources and self.may(user, transition, obj)
        ]

    def abilities(self, *, user, obj, at=None, guards=True) -> dict[str, bool]:
        """{transition name: bool} for every transition of the table: may `user` fire it now? With
        `guards=False`, only who and the state are asked (the guards say why once it is tried)."""
        if guards:
            possible = {t.name for t, missing in self.options(user=user, obj=obj, at=at) if not missing}
        else:
            possible = {
                t.name for t in self.transitions.values() if self.state_of(obj) in t.sources and self.may(user, t, obj)
            }
        return {name: name in possible for name in self.transitions}

    # --- the one transition routine ----------------------------------------------------------------

    def fire(self, obj, name, *, actor, comment="", at=None, prepare=None, after=None, effects=()):
        """Fire transition `name` on `obj` as `actor` (None: the system); return the object reloaded.

        In one transaction: lock the row; check who may (NotAllowed), the source state
        (StateConflict), the comment when required (InvalidInput) and the guards (GuardFailed, with
        what is missing in French); write the target state and `prepare(locked)`'s fields with a
        conditional update (StateConflict when another request moved the state first); append the
        chained event; run `after(locked)` (letters, dependent rows) in the same transaction. The
        event's notification and each of `effects` run only after commit. On any error nothing is
        written.

        `comment` is the event's text, or a function of the locked object once written (its text
        depends on what `prepare` computed).
        """
        transition = self.transitions[name]
        at = at or timezone.now()
        comment = comment if callable(comment) else (comment or "").strip()
        with transaction.atomic():
            locked = self.lock(obj)
            if not self.may(actor, transition, locked):
                raise NotAllowed()
            source = self.state_of(locked)
            if source not in transition.sources:
                raise StateConflict(self.state_conflict(transition, locked))
            if transition.comment_required and not comment:
                raise InvalidInput(
                    self.comment_message, code="comment_required", errors={self.comment_field: [self.comment_message]}
                )
            missing = transition.failed_guards(locked, actor=actor, at=at)
            if missing:
                raise transition.refusal(
                    f"Action « {transition.label} » impossible : " + " ".join(missing),
                    # A proof being scanned as the only reason: the API says retry (common.scanning).
                    code=transition.refusal_code or scanning.guard_error_code(missing),
                    errors={"guards": missing},
                )
            fields = dict(prepare(locked) or {}) if prepare else {}
            fields["state"] = transition.target
            if self.stamp_updated_at:
                fields["updated_at"] = at
            if self.model.objects.filter(pk=locked.pk, state=source).update(**fields) != 1:
                raise StateConflict(self.stale_message)
            for field, value in fields.items():  # `locked` now holds what was written
                setattr(locked, field, value)
            text = comment(locked) if callable(comment) else comment
            event = self.append(locked, transition=transition, source=source, actor=actor, comment=text, at=at)
            transaction.on_commit(lambda: self.notify(event))
            if after is not None:
                self.refresh(locked)
                after(locked)
            for effect in effects:
                transaction.on_commit(effect)
        return self.reload(obj)


def any_agent(user, obj=None) -> bool:
    """An instructor or a validator (both agent roles)."""
    return has_role(user, Role.INSTRUCTOR, operator_id=None) or has_role(user, Role.VALIDATOR, operator_id=None)
