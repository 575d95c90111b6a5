"""API plumbing shared by every app: one error body shape, one place mapping domain errors to HTTP,
strict pagination and ordering (a bad query parameter is a 400, never ignored). Strict input
serializers and fields: common.serializers."""

import re

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db.models import F
from django.http import Http404
from rest_framework import exceptions, filters, pagination, status
from rest_framework.metadata import SimpleMetadata
from rest_framework.response import Response

from common.exceptions import DomainError


def _body(*, detail, code, errors=None):
    return {"detail": str(detail), "code": code, "errors": errors or {}}


def exception_handler(exc, context):
    """Every API error answers `{"detail": …, "code": …, "errors": {field: [...]}}`."""
    # Imported here: rest_framework.views reads DEFAULT_METADATA_CLASS (this module) when it loads, so a
    # process whose first DRF import is this module (a Celery worker) would find it half-initialised.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DomainError):
        errors = flatten_errors(exc.errors)
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
        response.data = _body(detail="Données invalides.", code="invalid", errors=flatten_errors(errors))
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


# --- Lists: pages and ordering -----------------------------------------------------------------

PAGE = re.compile(r"[1-9][0-9]*")
PAGE_INVALID = "Numéro de page invalide : un entier à partir de 1 est attendu."


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page numbers, except that `?page=` empty, `0`, `x` or `last` is a 400 (DRF reads an empty
    one as page 1); a page beyond the last stays a 404."""

    def get_page_number(self, request, paginator):
        value = request.query_params.get(self.page_query_param)
        if value is None:
            return 1
        if not PAGE.fullmatch(value):
            raise exceptions.ValidationError({self.page_query_param: [PAGE_INVALID]})
        return value

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


ORDERING_INVALID = "Tri inconnu : « {value} » (possibles : {allowed})."


class OrderingFilter(filters.OrderingFilter):
    """`?ordering=amount,-submitted_at` over the view's `ordering_fields` ({public name: model field
    or annotation}); an unknown or empty name is a 400 (DRF ignores it). Empty values sort last in
    either direction, on PostgreSQL and SQLite alike; the primary key breaks ties, so pages are stable.
    A field listed in the view's `ordering_annotations` ({field: function(queryset)}) is annotated
    only when a client sorts on it."""

    def get_ordering(self, request, queryset, view):
        value = request.query_params.get(self.ordering_param)
        if value is None:
            return None
        names = [name.strip() for name in value.split(",")]
        unknown = [name for name in names if name.removeprefix("-") not in view.ordering_fields]
        if unknown:
            allowed = ", ".join(view.ordering_fields)
            raise exceptions.ValidationError(
                {self.ordering_param: [ORDERING_INVALID.format(value=name, allowed=allowed) for name in unknown]}
            )
        return names

    def filter_queryset(self, request, queryset, view):
        names = self.get_ordering(request, queryset, view)
        if not names:
            return queryset
        order = []
        for name in names:
            field = view.ordering_fields[name.removeprefix("-")]
            annotate = getattr(view, "ordering_annotations", {}).get(field)
            if annotate is not None and field not in queryset.query.annotations:
                queryset = annotate(queryset)
            expression = F(field)
            order.append(expression.desc(nulls_last=True) if name.startswith("-") else expression.asc(nulls_last=True))
        return queryset.order_by(*order, "-pk")

    def get_schema_operation_parameters(self, view):
        values = [value for name in view.ordering_fields for value in (name, f"-{name}")]
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Tri : un ou plusieurs champs séparés par des virgules, `-` devant pour l'ordre "
                "décroissant (par exemple `-submitted_at,amount`). Valeur inconnue : 400.",
                "schema": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": values}},
                "style": "form",
                "explode": False,
            }
        ]


def normalise_optional_slash_paths(endpoints, **kwargs):
    """Our API paths accept an optional trailing slash (`/?`, docs/spec/SPEC.md §6); document each once, without it."""
    seen = set()
    result = []
    for path, path_regex, method, callback in endpoints:
        clean = path.rstrip("/") if path.startswith("/api/v1/") else path
        if (clean, method) not in seen:
            seen.add((clean, method))
            result.append((clean, path_regex, method, callback))
    return result
