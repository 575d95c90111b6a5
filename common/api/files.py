"""OpenAPI and content negotiation of the API's downloads (the response itself: common.downloads)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

# One 200 response, binary whatever its type: the file is sent with its own type (PDF, PNG or JPEG,
# recognised from its content at upload); `application/octet-stream` comes first so that clients
# generated from the schema (openapi-python-client) read any of them as bytes.
BINARY_RESPONSES = {
    (200, media_type): OpenApiResponse(
        OpenApiTypes.BINARY, description="Le fichier, en pièce jointe, sous son propre type (PDF, PNG ou JPEG)."
    )
    for media_type in ("application/octet-stream", "application/pdf", "image/png", "image/jpeg")
}


class DownloadNegotiationMixin:
    """A download answers whatever the client's Accept header says (errors fall back to JSON)."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)
