"""OpenAPI and content negotiation of the API's downloads (the response itself: common.downloads)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

# The three accepted formats; the stored content type comes from the file's content, not its name.
BINARY_RESPONSES = {
    (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="Le fichier, en pièce jointe.")
    for media_type in ("application/pdf", "image/png", "image/jpeg")
}


class DownloadNegotiationMixin:
    """A download answers whatever the client's Accept header says (errors fall back to JSON)."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)
