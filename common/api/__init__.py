"""API plumbing shared by every app (no app's domain here):

- `errors`: one error body shape, one place mapping domain errors to HTTP (`exception_handler`);
- `metadata`: the `OPTIONS` answer;
- `pagination`: strict pagination and ordering (a bad query parameter is a 400, never ignored);
- `views`: the paginated list base; `permissions`: the role gates; `files`: downloads' negotiation
  and schema; `schema`: the usual error responses and path parameters of the OpenAPI document;
  `hooks`: the schema's preprocessing hook;
- `lockout`: django-axes' lockout answer (JSON on the API, the portal's page elsewhere).

Strict input serializers and fields: common.serializers. The names below stay importable from
`common.api`. Only leaf modules are imported here: rest_framework.views and rest_framework.generics load
this package (metadata and pagination classes) while they are half-initialised, so `views`, `schema` and
`files` (which import DRF's views or drf-spectacular) are imported by their full path.
"""

from common.api.errors import exception_handler, flatten_errors
from common.api.hooks import normalise_optional_slash_paths
from common.api.metadata import Metadata
from common.api.pagination import ORDERING_INVALID, PAGE, PAGE_INVALID, OrderingFilter, PageNumberPagination

__all__ = [
    "ORDERING_INVALID",
    "PAGE",
    "PAGE_INVALID",
    "Metadata",
    "OrderingFilter",
    "PageNumberPagination",
    "exception_handler",
    "flatten_errors",
    "normalise_optional_slash_paths",
]
