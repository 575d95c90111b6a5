"""Strict pagination and ordering of every list (a bad query parameter is a 400, never ignored).

A leaf module: rest_framework.generics reads DEFAULT_PAGINATION_CLASS (this module) when it loads."""

import re

from django.db.models import F
from rest_framework import exceptions, filters, pagination

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
