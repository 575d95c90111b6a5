"""The one download response for stored proofs: API, portal and admin all answer through it."""

from django.http import FileResponse, Http404

from common import scanning
from common.uploads import safe_display_name

# Proofs include identity and bank documents: never cached, never rendered, never sniffed.
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


def attachment_response(document):
    """Stream `document.file` (a common.models.StoredFile) as an attachment under its sanitised name.

    A proof being scanned or quarantined is never served: DocumentUnavailable (409, common.scanning).
    """
    scanning.check_downloadable(document)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=safe_display_name(document.original_name, document.content_type),
        content_type=document.content_type,
    )
    return with_download_headers(response)


def with_download_headers(response):
    """The headers every download carries (also for files built in memory, e.g. a payment batch's)."""
    for name, value in HEADERS.items():
        response[name] = value
    return response
