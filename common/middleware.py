"""Turn a lost database into a clean, retryable 503 instead of a 500 with a traceback."""

import contextlib
import logging

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

UNAVAILABLE = "Service momentanément indisponible, merci de réessayer dans quelques instants."


class DatabaseUnavailableMiddleware:
    """Answers 503 (JSON on the API, a short French page elsewhere) when the database is unreachable.

    Whatever the request was doing ran in a transaction that the database rolled back, so
    nothing is half-written; the broken connection is closed so the next request reconnects.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError) or not _connection_lost(exception):
            return None
        logger.error("database unavailable: %s", exception)
        for connection in connections.all(initialized_only=True):
            with contextlib.suppress(DatabaseError):
                connection.close()
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": UNAVAILABLE, "code": "service_unavailable", "errors": {}}, status=503)
        else:
            response = HttpResponse(
                f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Service indisponible</title>'
                f"</head><body><h1>Service indisponible</h1><p>{UNAVAILABLE}</p></body></html>",
                status=503,
            )
        response["Retry-After"] = "30"
        return response


def _connection_lost(exception):
    """An OperationalError that means "no database" rather than a bad query (e.g. a lock timeout)."""
    if isinstance(exception, InterfaceError):
        return True
    text = str(exception).lower()
    markers = (
        "connection",
        "server closed",
        "terminating",
        "shutting down",
        "could not connect",
        "the database system is starting up",
        "unable to open database",
    )
    return any(marker in text for marker in markers)
