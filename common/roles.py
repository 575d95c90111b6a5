"""Who may act as what: the role gate used by every service (roles span the apps), and the agents'
groups with their model permissions, declared once here and applied by `sync_roles`."""

from dataclasses import dataclass, field

from django.apps import apps as global_apps
from django.contrib.auth.models import AnonymousUser, User
from django.db import DEFAULT_DB_ALIAS, models, router


class Role(models.TextChoices):
    OPERATOR = "operator", "Opérateur"
    INSTRUCTOR = "instructeur", "Instructeur"
    VALIDATOR = "valideur", "Valideur"
    SYSTEM = "system", "Système"


AGENT_GROUPS = {Role.INSTRUCTOR: "instructeur", Role.VALIDATOR: "valideur"}

# --- The agents' groups and their model permissions ------------------------------------------------
# What each agent role may see and edit in the admin, model by model ("app_label.model": actions).
# Transitions (take, approve, pay, validate an enrolment…) are decided by the services and their
# abilities, not by these permissions: "change" only opens the change page whose buttons call them.
# Applied after every `migrate` (post_migrate, common.apps) and by `manage.py sync_roles`, which set
# each group's permissions to exactly these: a permission granted by hand in the admin is removed.
VIEW = frozenset({"view"})
EDIT = frozenset({"view", "change"})
ADD_EDIT = frozenset({"view", "add", "change"})

_READ_BY_EVERY_AGENT = {
    "operators.operator": VIEW,
    "operators.maildomain": VIEW,
    "operators.contractv2": VIEW,
    "operators.referencing": VIEW,
    "operators.membership": VIEW,
    "operators.enrolment": VIEW,
    "operators.enrolmentdocument": VIEW,
    "operators.enrolmentevent": VIEW,
    "operators.invitation": VIEW,
    "operators.webhook": VIEW,
    "operators.webhookdelivery": VIEW,
    # Both roles decide bank-details changes and clear fraud flags (admin buttons calling services).
    "operators.bankdetailschange": EDIT,
    "operators.bankdetailsproof": VIEW,
    "operators.bankdetailsevent": VIEW,
    "operators.fraudflag": EDIT,
    "funding.fundingschedule": VIEW,
    "funding.campaign": VIEW,
    "funding.mailboxcount": VIEW,
    # Read-only: Annuaire imports and growth checks run as commands.
    "funding.annuairesnapshot": VIEW,
    "funding.growthcheck": VIEW,
    "claims.claim": EDIT,
    "claims.document": VIEW,
    "claims.claimevent": VIEW,
    "claims.deadlineextension": VIEW,
    "claims.payment": VIEW,
    "claims.recovery": EDIT,
    # Batches: the services decide who may create, send, cancel or import a return (a valideur).
    "claims.paymentbatch": VIEW,
    "claims.paymentbatchevent": VIEW,
    "claims.paymentattempt": VIEW,
    "claims.bankreturn": VIEW,
}
ROLE_PERMISSIONS = {
    AGENT_GROUPS[Role.INSTRUCTOR]: {
        **_READ_BY_EVERY_AGENT,
        # Instructors keep the operators' reference data and counts, open recoveries and decide
        # enrolments (admin actions calling services, hence "change").
        "operators.operator": EDIT,
        "operators.maildomain": ADD_EDIT,
        "operators.contractv2": ADD_EDIT,
        "operators.referencing": ADD_EDIT,
        "operators.enrolment": EDIT,
        "funding.mailboxcount": ADD_EDIT,
        "claims.recovery": ADD_EDIT,
    },
    AGENT_GROUPS[Role.VALIDATOR]: {
        **_READ_BY_EVERY_AGENT,
        # Validators extend deadlines and record payments.
        "claims.deadlineextension": frozenset({"view", "add"}),
        "claims.payment": frozenset({"view", "add"}),
    },
}


def role_permissions(role):
    """{(app_label, codename)} the group named `role` must hold exactly."""
    return {
        (model.split(".")[0], f"{action}_{model.split('.')[1]}")
        for model, actions in ROLE_PERMISSIONS[role].items()
        for action in actions
    }


@dataclass
class RolesSync:
    changes: list = field(default_factory=list)  # French lines: what was created, granted, withdrawn
    missing: list = field(default_factory=list)  # declared "app_label.codename" with no permission row


def sync_roles(*, apps=global_apps, using=DEFAULT_DB_ALIAS):
    """Create the agents' groups and set their permissions to exactly ROLE_PERMISSIONS; idempotent.

    Expects the permission rows to exist (Django creates them after `migrate`); a declared one that
    does not is reported in `missing` (a model not migrated yet, or a typo) and the rest applied.
    Groups not declared here are left alone.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    result = RolesSync()
    if not router.allow_migrate_model(using, Group):
        return result
    for role in ROLE_PERMISSIONS:
        wanted = role_permissions(role)
        rows = Permission.objects.using(using).filter(
            codename__in={codename for _app, codename in wanted},
            content_type__app_label__in={app for app, _codename in wanted},
        )
        found = {(p.content_type.app_label, p.codename): p for p in rows.select_related("content_type")}
        found = {key: permission for key, permission in found.items() if key in wanted}
        result.missing += sorted(f"{app}.{codename}" for app, codename in wanted - found.keys())
        group, created = Group.objects.using(using).get_or_create(name=role)
        if created:
            result.changes.append(f"groupe « {role} » créé")
        held = {(p.content_type.app_label, p.codename): p for p in group.permissions.select_related("content_type")}
        granted = sorted(found.keys() - held.keys())
        withdrawn = sorted(held.keys() - wanted)
        group.permissions.add(*(found[key] for key in granted))
        group.permissions.remove(*(held[key] for key in withdrawn))
        result.changes += [f"{role} : + {app}.{codename}" for app, codename in granted]
        result.changes += [f"{role} : − {app}.{codename}" for app, codename in withdrawn]
    return result


def sync_roles_after_migrate(sender, *, apps=global_apps, using=DEFAULT_DB_ALIAS, verbosity=1, **kwargs):
    """post_migrate receiver: sync the roles once, after the last app's permissions were created
    (Django sends post_migrate app by app, in INSTALLED_APPS order, and creates each app's
    permissions in its own receiver, connected before this one)."""
    with_models = [config for config in global_apps.get_app_configs() if config.models_module is not None]
    if sender is not with_models[-1]:
        return
    try:
        apps.get_model("auth", "Group")
    except LookupError:  # auth not migrated in this plan
        return
    result = sync_roles(apps=apps, using=using)
    # Withdrawals always show in the deploy's log (an access removed); grants in detail with -v 2.
    if verbosity >= 1 and result.changes:
        print(f"Rôles des agents (common.roles) : {len(result.changes)} changement(s).")
    for line in result.changes:
        if verbosity >= 2 or (verbosity >= 1 and " − " in line):
            print(f"  {line}")


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


# Where a user's group names are kept for the rest of the request (like Django's `_perm_cache`).
GROUPS_CACHE = "_agent_group_names"


def agent_group_names(user: User) -> frozenset[str]:
    """The names of `user`'s groups, read once per user object (one query at most per request: the
    request's user is one object); a group added later on the same object is not seen, as with
    Django's permission cache."""
    names: frozenset[str] | None = getattr(user, GROUPS_CACHE, None)
    if names is None:
        names = frozenset(user.groups.values_list("name", flat=True))
        setattr(user, GROUPS_CACHE, names)
    return names


def is_agent(user: AnyUser, role: str) -> bool:
    """True when `user` is a staff member in the group of `role` (superusers hold every agent role)."""
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return False
    if user.is_superuser:
        return True
    return AGENT_GROUPS[role] in agent_group_names(user)


def is_any_agent(user: AnyUser) -> bool:
    """True for an instructor or a validator (or a superuser): the one "is this an agent" check."""
    return is_agent(user, Role.INSTRUCTOR) or is_agent(user, Role.VALIDATOR)


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
