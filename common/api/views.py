"""Base of the API's list endpoints, for every app: every list is paginated."""

from rest_framework.generics import GenericAPIView


def paginated(view, queryset, serializer_class):
    page = view.paginate_queryset(view.filter_queryset(queryset))
    data = serializer_class(page, many=True, context=view.get_serializer_context()).data
    return view.get_paginated_response(data)


class PaginatedAPIView(GenericAPIView):
    """Base of list endpoints: every list is paginated (`{"count", "next", "previous", "results"}`)."""

    def get_serializer_context(self):
        return {"request": self.request, "view": self}
