"""Who may act as what: the role gate used by every service (roles span the apps)."""

from django.contrib.auth.models import AnonymousUser, User
from django.db import models


class Role(models.TextChoices):
    OPERATOR = "operator", "Opérateur"
    INSTRUCTOR = "instructeur", "Instructeur"
    VALIDATOR = "valideur", "Valideur"
    SYSTEM = "system", "Système"


AGENT_GROUPS = {Role.INSTRUCTOR: "instructeur", Role.VALIDATOR: "valideur"}


# A request's user (maybe anonymous), or None for the system (background jobs, commands).
AnyUser = User | AnonymousUser | None


def operator_id_of(user: AnyUser) -> int | None:
    """The operator a portal user acts for, or None. Agents (staff) never act as operators, even
    when a membership was attached to their account by mistake."""
    if user is None or not user.is_authenticated or not user.is_active or user.is_staff:
        return None
    membership = getattr(user, "membership", None)
    if membership is None or not membership.is_active:
        return None
    operator_id: int = membership.operator_id
    return operator_id


def is_agent(user: AnyUser, role: str) -> bool:
    """True when `user` is a staff member in the group of `role` (superusers hold every agent role)."""
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=AGENT_GROUPS[role]).exists()


def has_role(user: AnyUser, role: str, *, operator_id: int | None) -> bool:
    if role == Role.SYSTEM:
        return user is None
    if role == Role.OPERATOR:
        return operator_id is not None and operator_id_of(user) == operator_id
    return is_agent(user, role)


def actor_label(user: AnyUser) -> str:
    if user is None:
        return "Système"
    full_name = user.get_full_name()
    return f"{full_name} ({user.username})" if full_name else user.username
