"""django-axes lockout answer: JSON for the API (its one error body), the portal's French page otherwise."""

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

LOCKED = "Trop d'échecs de connexion pour cet identifiant : réessayez plus tard."


def lockout_response(request, original_response=None, credentials=None):
    cool_off = get_cool_off(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": LOCKED, "code": "locked_out", "errors": {}}, status=429)
        if cool_off:
            response["Retry-After"] = str(int(cool_off.total_seconds()))
        return response
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "username": get_client_username(request, credentials) or "",
        "cooloff_timedelta": cool_off,
    }
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE)
