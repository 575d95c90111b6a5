"""One error body for the whole API, and the one place mapping domain errors to HTTP."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions, status

# The module, not its function: rest_framework.views loads this package (DEFAULT_METADATA_CLASS) while it
# is itself half-initialised; the function is looked up when an error is handled.
from rest_framework import views as drf_views
from rest_framework.response import Response

from common.exceptions import DomainError
from common.parsers import RequestTooLarge


def _body(*, detail, code, errors=None):
    return {"detail": str(detail), "code": code, "errors": errors or {}}


def exception_handler(exc, context):
    """Every API error answers `{"detail": …, "code": …, "errors": {field: [...]}}`."""
    if isinstance(exc, DomainError):
        errors = flatten_errors(exc.errors)
        return Response(_body(detail=exc.message, code=exc.code, errors=errors), status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # too many fields, malformed multipart boundaries, …
        exc = exceptions.ParseError()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_views.exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = _body(detail="Données invalides.", code="invalid", errors=flatten_errors(errors))
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = getattr(detail, "code", None) or exc.default_code
        response.data = _body(detail=detail if not isinstance(detail, dict | list) else exc.default_detail, code=code)
    return response


def flatten_errors(errors):
    """{field: [messages]}, one level: a nested field is named by its path (`{"counts": {"APP": [m]}}`
    → `{"counts.APP": [m]}`, the second item of a list `attachments.1`); messages outside any field
    go to `non_field_errors`."""
    flat = {}

    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(item, f"{path}.{index}" if isinstance(item, dict | list | tuple) else path)
        else:
            flat.setdefault(path or "non_field_errors", []).append(str(value))

    walk(errors, "")
    return flat
