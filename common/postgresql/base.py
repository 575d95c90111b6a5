"""Django's PostgreSQL backend with a client-side deadline on every wait for the server.

`statement_timeout` (settings) makes a live server give up a slow query; it cannot help when the
server, or the network to it, stops answering at all: psycopg would then wait for ever, and the web
worker with it. Here each wait for an answer has a deadline (`DATABASE_CLIENT_TIMEOUT`, a little
above `statement_timeout`), and the health check of a reused connection a short one
(`DATABASE_HEALTH_CHECK_TIMEOUT`), so a hung database answers 503 within seconds
(`common.middleware.DatabaseUnavailableMiddleware`).
"""

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base


class DeadlineConnection(psycopg.Connection):
    """psycopg's connection whose waits time out after `deadline` seconds (None: no deadline)."""

    deadline = None

    def wait(self, gen, interval=0.1, timeout=None):
        # psycopg raises its internal _WaitTimeout (an OperationalError); the connection is then
        # mid-exchange and unusable: close it so nothing reuses it.
        try:
            return super().wait(gen, interval=interval, timeout=timeout if timeout is not None else self.deadline)
        except psycopg.errors._WaitTimeout:
            self.pgconn.finish()
            raise psycopg.OperationalError("database connection timeout: no answer from the server") from None


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        connection.__class__ = DeadlineConnection  # same layout, one method more
        connection.deadline = settings.DATABASE_CLIENT_TIMEOUT or None
        return connection

    def is_usable(self):
        if self.connection is None:
            return False
        self.connection.deadline, saved = settings.DATABASE_HEALTH_CHECK_TIMEOUT or None, self.connection.deadline
        try:
            return super().is_usable()
        finally:
            self.connection.deadline = saved
