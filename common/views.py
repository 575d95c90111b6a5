"""Health endpoints for load balancers and orchestrators."""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. Touches nothing else (also the benchmark's bare baseline)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: the database answers. The broker is not required: notifications wait in the outbox."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})


@never_cache
def api_not_found(request, *args, **kwargs):
    """Unknown API paths answer the API's JSON error body, not an HTML page."""
    return JsonResponse(
        {"detail": "Ressource introuvable.", "code": "not_found", "errors": {}},
        status=404,
    )
