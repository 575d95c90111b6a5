"""Health endpoints for load balancers and orchestrators, and the error handlers: JSON on /api/, the
French pages of common.errors everywhere else (portal layout, or the admin's look under /admin/)."""

import logging
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from kombu import Connection

from common import antivirus
from common.errors import CSRF, error_response

logger = logging.getLogger(__name__)

# /readyz answers within this many seconds whatever the database does (a load balancer's probe).
READINESS_TIMEOUT = 1.5


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. Touches nothing else (also the benchmark's bare baseline)."""
    return JsonResponse({"status": "ok"})


def _in_thread(check, deadline):
    """Runs `check` in a thread of its own and returns a function giving its answer, False if it raised
    or has not answered by `deadline` (time.monotonic()): probes run side by side within one budget."""
    result = {}

    def run():
        try:
            result["up"] = check()
        except Exception as error:  # the probed service's own error types
            logger.warning("readyz: %s unavailable: %s", check.__name__.removeprefix("_"), error)
            result["up"] = False

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def answer():
        thread.join(max(0.0, deadline - time.monotonic()))
        return result.get("up", False)

    return answer


def _database():
    """SELECT 1 on this thread's own connection, closed afterwards."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False
    finally:
        connection.close()


def _broker():
    """Connects to CELERY_BROKER_URL once, without retrying beyond the readiness budget."""
    options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "socket_connect_timeout": 1, "socket_timeout": 1}
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=READINESS_TIMEOUT, transport_options=options) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=READINESS_TIMEOUT)
        return broker.connected


def _cache_up():
    key = f"readyz:{uuid.uuid4().hex}"
    try:
        cache.set(key, 1, timeout=5)
        up = cache.get(key) == 1
        cache.delete(key)
        return up
    except Exception as error:  # the cache backend's own error type
        logger.warning("readyz: cache unavailable: %s", error)
        return False


@never_cache
@require_GET
def readyz(request):
    """Readiness: the database and the cache answer (login limits fail closed without the cache), and
    the broker when one is configured (CELERY_BROKER_URL): a 503 names the part that is down. The
    probes run side by side and the answer comes within READINESS_TIMEOUT whatever they do."""
    deadline = time.monotonic() + READINESS_TIMEOUT
    probes = {"database": _in_thread(_database, deadline)}
    if settings.CELERY_BROKER_URL:
        probes["broker"] = _in_thread(_broker, deadline)
    checks = {"cache": _cache_up()}
    checks = {name: answer() for name, answer in probes.items()} | checks
    body = {name: "up" if up else "down" for name, up in checks.items()}
    if settings.CLAMD_ADDRESS:
        # Reported, not required: while clamd is down proofs wait "en cours d'analyse" (retried), the
        # rest of the service works.
        body["clamd"] = "up" if antivirus.ping(timeout=max(0.1, deadline - time.monotonic()))[0] else "down"
    if all(checks.values()):
        return JsonResponse({"status": "ok", **body})
    return JsonResponse({"status": "unavailable", **body}, status=503)


def _api_error(detail, code, status):
    return JsonResponse({"detail": detail, "code": code, "errors": {}}, status=status)


NOT_FOUND = "Ressource introuvable."


@never_cache
@csrf_exempt  # nothing to protect, and a POST to an unknown API path is a 404, not a CSRF page
def api_not_found(request, *args, **kwargs):
    """Unknown API paths answer the API's JSON error body, not an HTML page."""
    return _api_error(NOT_FOUND, "not_found", 404)


def _is_api(request):
    return request.path.startswith("/api/")


def bad_request(request, exception):
    """handler400: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413; JSON on the API."""
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return _api_error("Corps de requête trop volumineux.", "request_too_large", 413)
        return _api_error("Requête invalide.", "bad_request", 400)
    return error_response(request, 400)


def permission_denied(request, exception):
    if _is_api(request):
        return _api_error("Vous n'avez pas la permission d'effectuer cette action.", "permission_denied", 403)
    return error_response(request, 403)


def page_not_found(request, exception):
    if _is_api(request):
        return _api_error(NOT_FOUND, "not_found", 404)
    return error_response(request, 404)


def server_error(request):
    if _is_api(request):
        return _api_error("Erreur interne.", "server_error", 500)
    return error_response(request, 500)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the API's JSON 403 on /api/, a French page elsewhere (never Django's, which
    talks about DEBUG); the reason goes to the log only."""
    if _is_api(request):
        return _api_error("Échec de la vérification CSRF.", "csrf_failed", 403)
    logger.warning("CSRF failure on %s: %s", request.path, reason)
    return error_response(request, 403, text=CSRF)


def favicon(request):
    """The State's icon for the pages that name none (the admin), resolved at request time (the static
    files' manifest may not be readable when URLs are loaded)."""
    return HttpResponsePermanentRedirect(static("dsfr/dist/favicon/favicon.ico"))
