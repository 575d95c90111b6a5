from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, transaction

from common.roles import sync_roles


class Command(BaseCommand):
    help = (
        "Crée les groupes des agents (instructeur, valideur) et leur donne exactement les permissions "
        "déclarées dans common/roles.py ; affiche ce qui a changé. Fait aussi après chaque migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, **options):
        using = options["database"]
        with transaction.atomic(using=using):
            # The permission rows of every model, as `migrate` creates them (idempotent).
            for app_config in apps.get_app_configs():
                create_permissions(app_config, verbosity=0, using=using)
            result = sync_roles(using=using)
            if result.missing:
                raise CommandError(f"Permissions déclarées introuvables : {', '.join(result.missing)}")
        for line in result.changes:
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(f"Rôles synchronisés : {len(result.changes)} changement(s).")
            if result.changes
            else "Rôles à jour : rien à changer."
        )
