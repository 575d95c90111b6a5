from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Commun"

    def ready(self):
        # The request id of the request that queued a task follows it into the worker's logs.
        from common.observability import connect_celery_signals

        connect_celery_signals()
