from django.apps import AppConfig
from django.db.models.signals import post_migrate

from common.observability import connect_celery_signals


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Commun"

    def ready(self):
        # Here, not at the top: common.roles imports the auth models, which load after this module.
        from common.roles import sync_roles_after_migrate

        # The request id of the request that queued a task follows it into the worker's logs.
        connect_celery_signals()
        # The agents' groups follow common.roles.ROLE_PERMISSIONS after every `migrate` (and flush).
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="common.roles.sync_roles_after_migrate")
