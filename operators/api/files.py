"""Authorised streaming downloads of stored proofs (never a public media URL)."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

# The three accepted formats; the stored content type comes from the file's content, not its name.
BINARY_RESPONSES = {
    (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="Le fichier, en pièce jointe.")
    for media_type in ("application/pdf", "image/png", "image/jpeg")
}


def attachment(document):
    """Stream `document.file` as an attachment named by its sanitised display name."""
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


class DownloadNegotiationMixin:
    """A download answers whatever the client's Accept header says (errors fall back to JSON)."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)
