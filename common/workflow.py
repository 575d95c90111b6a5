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

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone

from common import scanning
from common.audit import ChainedEvent, ChainParent, append_event
from common.exceptions import DomainError, GuardFailed, InvalidInput, NotAllowed, StateConflict
from common.roles import AnyUser, Role, has_role

COMMENT_REQUIRED = "Un commentaire motivé est obligatoire pour cette action."


class Guard(Protocol):
    """`(obj, *, actor, at) -> list[str]`: what is missing, in French (empty: the guard passes)."""

    def __call__(self, obj: Any, /, *, actor: AnyUser, at: datetime) -> list[str]: ...


# Who may fire a transition: a role, any of several roles, or a predicate (user, obj) -> bool.
RoleSpec = Role | tuple[Role, ...] | Callable[[AnyUser, Any], bool]


class StatefulRow(Protocol):
    """What a workflow's model offers: a `state` field with choices, saved like any model row."""

    objects: ClassVar[models.Manager[Any]]
    pk: Any
    # A CharField with choices, read as a str (Any here: django-stubs types a field only after the
    # protocol check of `Workflow[Model]` has run).
    state: Any

    def get_state_display(self) -> str: ...

    def refresh_from_db(self) -> None: ...


RowT = TypeVar("RowT", bound=StatefulRow)


@dataclass(frozen=True)
class Transition:
    """One declared transition.

    `role` says who may fire it: a `Role` (Role.OPERATOR: a member of the object's operator,
    Role.SYSTEM: no actor, i.e. a job or an import), a tuple of roles (any of them), or a
    predicate `(user, obj) -> bool`. `action` names the history event (default: `name`).
    """

    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    role: RoleSpec
    guards: tuple[Guard, ...] = ()
    comment_required: bool = False
    action: str = ""
    # What a failed guard raises (with `refusal_code`): GuardFailed unless the API documents another.
    refusal: type[DomainError] = GuardFailed
    refusal_code: str = ""

    @property
    def event_action(self) -> str:
        return self.action or self.name

    def failed_guards(self, obj: Any, *, actor: AnyUser, at: datetime) -> list[str]:
        return [message for guard in self.guards for message in guard(obj, actor=actor, at=at)]


def failed_guards(transition: Transition, obj: Any, *, actor: AnyUser, at: datetime) -> list[str]:
    return transition.failed_guards(obj, actor=actor, at=at)


class Workflow(Mapping[str, Transition], Generic[RowT]):
    """A table of transitions on `model`, read like a dict {name: Transition}.

    Subclasses set `model`, `event_model` and the French wording, and override the hooks below
    when their machine differs (how a row is locked, who counts as an operator, where its history
    is chained, what is notified).
    """

    model: type[RowT]
    event_model: type[ChainedEvent] | None = None  # None: the subclass's `append` says where the history goes
    noun = "l'objet"  # « Action « … » impossible : <noun> est « … » »
    stale_message = "L'objet vient d'être modifié par ailleurs ; rechargez-le."
    comment_message = COMMENT_REQUIRED
    comment_field = "comment"
    stamp_updated_at = False

    def __init__(self, *transitions: Transition) -> None:
        self.transitions = {t.name: t for t in transitions}

    # Mapping: TRANSITIONS["submit"], set(TRANSITIONS), TRANSITIONS.items()…
    def __getitem__(self, name: str) -> Transition:
        return self.transitions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.transitions)

    def __len__(self) -> int:
        return len(self.transitions)

    # --- hooks ---------------------------------------------------------------------------------

    def lock(self, obj: RowT) -> RowT:
        """The row, locked for the transaction (with what the guards read)."""
        locked: RowT = self.model.objects.select_for_update(of=("self",)).get(pk=obj.pk)
        return locked

    def operator_id(self, obj: RowT) -> int | None:
        """The operator whose members hold Role.OPERATOR on `obj` (None: nobody)."""
        operator_id: int | None = getattr(obj, "operator_id", None)
        return operator_id

    def may(self, user: AnyUser, transition: Transition, obj: RowT) -> bool:
        """True when `user` holds the role `transition` requires on `obj`."""
        role = transition.role
        if callable(role) and not isinstance(role, str):
            return bool(role(user, obj))
        roles = role if isinstance(role, tuple) else (role,)
        return any(has_role(user, r, operator_id=self.operator_id(obj)) for r in roles)

    def state_of(self, obj: RowT) -> str:
        state: str = obj.state
        return state

    def state_conflict(self, transition: Transition, obj: RowT) -> str:
        return f"Action « {transition.label} » impossible : {self.noun} est « {obj.get_state_display()} »."

    def append(
        self, locked: RowT, *, transition: Transition, source: str, actor: User | None, comment: str, at: datetime
    ) -> ChainedEvent:
        """Append the transition's event to the chain of `locked`; the caller holds its lock. By
        default `locked` chains its own history in `event_model`."""
        assert self.event_model is not None, f"{type(self).__name__} sets event_model or overrides append"
        return append_event(
            parent=cast(ChainParent, locked),
            event_model=self.event_model,
            actor=actor,
            action=transition.event_action,
            from_state=source,
            to_state=transition.target,
            comment=comment,
            at=at,
        )

    def refresh(self, locked: RowT) -> None:
        """Re-read `locked` before the `after` step (what the database holds, not what was set)."""
        locked.refresh_from_db()

    def notify(self, event: ChainedEvent) -> None:
        """Scheduled after commit with the event written (e-mails, webhooks); nothing by default."""

    def reload(self, obj: RowT) -> RowT:
        reloaded: RowT = self.model.objects.get(pk=obj.pk)
        return reloaded

    # --- reading the table -----------------------------------------------------------------------

    def options(self, *, user: AnyUser, obj: RowT, at: datetime | None = None) -> list[tuple[Transition, list[str]]]:
        """[(transition, missing)] for the transitions `user` could fire from `obj`'s state; an empty
        `missing` means it may be fired now."""
        at = at or timezone.now()
        return [
            (transition, transition.failed_guards(obj, actor=user, at=at))
            for transition in self.transitions.values()
            if self.state_of(obj) in transition.sources and self.may(user, transition, obj)
        ]

    def abilities(
        self, *, user: AnyUser, obj: RowT, at: datetime | None = None, guards: bool = True
    ) -> dict[str, bool]:
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

    def fire(
        self,
        obj: RowT,
        name: str,
        *,
        actor: User | None,
        comment: str | Callable[[RowT], str] = "",
        at: datetime | None = None,
        prepare: Callable[[RowT], Mapping[str, Any] | None] | None = None,
        after: Callable[[RowT], object] | None = None,
        effects: Iterable[Callable[[], object]] = (),
    ) -> RowT:
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
        if not callable(comment):
            comment = (comment or "").strip()
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
            fields: dict[str, Any] = dict(prepare(locked) or {}) if prepare else {}
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
