"""What a user may do on a claim: the one answer the API, the admin buttons and the portal read.

The transitions come from the claim's table (claims.workflow); beside them, the actions that are
not transitions: uploading a proof, extending the filing deadline, opening a recovery case.
"""

from datetime import datetime

from django.utils import timezone

from claims import recoveries
from claims.enums import EDITABLE_STATES, ClaimState
from claims.models import Claim
from claims.workflow import TRANSITIONS
from common.roles import AnyUser, Role, is_agent, operator_id_of
from common.workflow import Transition

# Every key of `claim_abilities`, in this order (the API documents them all).
CLAIM_ABILITIES = (*TRANSITIONS, "upload", "extend_deadline", "open_recovery")


def claim_transition_options(
    *, user: AnyUser, claim: Claim, at: datetime | None = None
) -> list[tuple[Transition, list[str]]]:
    """The transitions `user` could fire from the claim's state, each with what still blocks it.

    Returns [(transition, [missing messages])]: an empty list means it may be fired now.
    """
    return TRANSITIONS.options(user=user, obj=claim, at=at or timezone.now())


def may_upload(*, user: AnyUser, claim: Claim) -> bool:
    """A proof is added by the operator's user or an instructor while the claim is editable."""
    return claim.state in EDITABLE_STATES and (
        operator_id_of(user) == claim.operator_id or is_agent(user, Role.INSTRUCTOR)
    )


def may_extend_deadline(*, user: AnyUser, claim: Claim) -> bool:
    """A validator extends the filing deadline of a claim still alive (neither withdrawn nor lapsed)."""
    return claim.state not in (ClaimState.WITHDRAWN, ClaimState.LAPSED) and is_agent(user, Role.VALIDATOR)


def claim_abilities(*, user: AnyUser, claim: Claim, at: datetime | None = None, guards: bool = True) -> dict[str, bool]:
    """What `user` may do on `claim` now: {name: bool} for every name of CLAIM_ABILITIES. With
    `guards=False` the transitions are only asked who and from which state (the admin shows their
    guards' messages beside its buttons)."""
    abilities = TRANSITIONS.abilities(user=user, obj=claim, at=at or timezone.now(), guards=guards)
    abilities["upload"] = may_upload(user=user, claim=claim)
    abilities["extend_deadline"] = may_extend_deadline(user=user, claim=claim)
    abilities["open_recovery"] = recoveries.may_open_recovery(user=user, claim=claim)
    return abilities
