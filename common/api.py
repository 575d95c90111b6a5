"""API plumbing shared by every app: one error body shape, one place mapping domain errors to HTTP."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.metadata import SimpleMetadata
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.exceptions import DomainError


def _body(*, detail, code, errors=None):
    return {"detail": str(detail), "code": code, "errors": errors or {}}


def exception_handler(exc, context):
    """Every API error answers `{"detail": …, "code": …, "errors": {field: [...]}}`."""
    if isinstance(exc, DomainError):
        errors = {
            key: [str(m) for m in (msgs if isinstance(msgs, list | tuple) else [msgs])]
            for key, msgs in exc.errors.items()
        }
        return Response(_body(detail=exc.message, code=exc.code, errors=errors), status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        from common.parsers import RequestTooLarge

        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # too many fields, malformed multipart boundaries, …
        exc = exceptions.ParseError()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = _body(detail="Données invalides.", code="invalid", errors=_stringify(errors))
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = getattr(detail, "code", None) or exc.default_code
        response.data = _body(detail=detail if not isinstance(detail, dict | list) else exc.default_detail, code=code)
    return response


class Metadata(SimpleMetadata):
    """`OPTIONS` answers the view's name, description and media types on every view.

    DRF's default also describes the POST/PUT body by instantiating `get_serializer()`, which many
    of our views do not have (input serializers are chosen per method): the schema documents bodies.
    """

    def determine_actions(self, request, view):
        return {}


def _stringify(errors):
    if isinstance(errors, dict):
        return {str(k): _stringify(v) for k, v in errors.items()}
    if isinstance(errors, list):
        flat = []
        for item in errors:
            value = _stringify(item)
            if isinstance(value, list):
                flat.extend(value)
            elif isinstance(value, dict):
                flat.append(value)
            else:
                flat.append(value)
        return flat
    return [str(errors)]


def normalise_optional_slash_paths(endpoints, **kwargs):
    """Our API paths accept an optional trailing slash (`/?`, SPEC §6); document each once, without it."""
    seen = set()
    result = []
    for path, path_regex, method, callback in endpoints:
        clean = path.rstrip("/") if path.startswith("/api/v1/") else path
        if (clean, method) not in seen:
            seen.add((clean, method))
            result.append((clean, path_regex, method, callback))
    return result
