"""API gates (the role check); object scoping is then done by selectors, so foreign objects are 404."""

from rest_framework.permissions import BasePermission

from common.roles import operator_id_of

OPERATOR_ONLY = "Réservé aux utilisateurs d'un opérateur dont l'enrôlement a été validé."
PORTAL_ONLY = "Réservé aux comptes des opérateurs : les agents instruisent dans l'administration."


def _portal_user(user):
    return bool(user and user.is_authenticated and user.is_active and not user.is_staff and not user.is_superuser)


class IsPortalUser(BasePermission):
    """An authenticated operator-side account (agents excluded), with or without an operator yet."""

    message = PORTAL_ONLY

    def has_permission(self, request, view):
        return _portal_user(request.user)


class IsOperatorMember(BasePermission):
    """An active member of an operator; agents never act as operators, even with a membership."""

    message = OPERATOR_ONLY

    def has_permission(self, request, view):
        return _portal_user(request.user) and operator_id_of(request.user) is not None
