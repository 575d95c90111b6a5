"""Turn a lost database or cache into a clean, retryable 503 instead of a 500 with a traceback."""

import contextlib
import logging

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import JsonResponse

from common.errors import ErrorText, error_response
from common.parsers import UNSTORABLE, unstorable
from common.ratelimit import CacheUnavailable
from common.scanning import SCAN_PENDING_CODE, DocumentUnavailable

logger = logging.getLogger(__name__)

UNAVAILABLE = "Service momentanément indisponible, merci de réessayer dans quelques instants."


class DatabaseUnavailableMiddleware:
    """Answers 503 (JSON on the API, a short French page elsewhere) when the database is unreachable,
    or when the cache is and a limit guarding credentials cannot be checked.

    Whatever the request was doing ran in a transaction that the database rolled back, so
    nothing is half-written; the broken connection is closed so the next request reconnects.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, CacheUnavailable):
            # Limits guarding credentials fail closed without their counters (common.ratelimit).
            logger.error("cache unavailable: %s", exception)
            return unavailable_response(request)
        if not isinstance(exception, OperationalError | InterfaceError) or not _connection_lost(exception):
            return None
        logger.error("database unavailable: %s", exception)
        for connection in connections.all(initialized_only=True):
            with contextlib.suppress(DatabaseError):
                connection.close()
        return unavailable_response(request)


def unavailable_response(request):
    """503, JSON on the API and a short French page elsewhere, with Retry-After."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": UNAVAILABLE, "code": "service_unavailable", "errors": {}}, status=503)
    else:
        response = error_response(request, 503)  # rendered without the database
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
        "timeout expired",  # libpq's connect_timeout
        "database connection timeout",  # the client-side deadline of common.postgresql
        "statement timeout",  # statement_timeout: the database is too slow to serve now
    )
    return any(marker in text for marker in markers)


REPEATED = "Paramètre donné plusieurs fois : une seule valeur est attendue."


class ApiQueryStringMiddleware:
    """Query parameters of the API holding a NUL (PostgreSQL cannot compare with it), or given more
    than once (every parameter of the API takes one value; DRF would silently read the last one),
    answer 400 with a field error, before any view filters on them. Bodies: common.parsers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            errors = {}
            for name, values in request.GET.lists():
                if unstorable(name) or any(unstorable(value) for value in values):
                    errors[name] = [UNSTORABLE]
                elif len(values) > 1:
                    errors[name] = [REPEATED]
            if errors:
                return JsonResponse(
                    {"detail": "Données invalides.", "code": "invalid", "errors": errors},
                    status=400,
                    json_dumps_params={"ensure_ascii": True},
                )
        return self.get_response(request)


class DocumentUnavailableMiddleware:
    """A portal or admin download of a proof being scanned or quarantined (common.scanning) answers a
    French 409 page saying why; the API answers its JSON error through common.api."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DocumentUnavailable):
            return None
        pending = exception.code == SCAN_PENDING_CODE
        text = ErrorText(
            "Pièce en cours d'analyse" if pending else "Pièce en quarantaine",
            exception.message,
            "Réessayez dans quelques instants."
            if pending
            else "Le fichier n'est servi à personne ; une nouvelle version doit être déposée.",
        )
        response = error_response(request, 409, text=text)
        if pending:
            response["Retry-After"] = "30"
        return response
