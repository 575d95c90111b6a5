"""Checks on uploaded proofs: by content (magic bytes), size and a safe display name."""

import hashlib
import os
import unicodedata

from django.conf import settings
from django.utils.text import get_valid_filename

from common.exceptions import FileTooLarge, InvalidInput, UnsupportedFileType

# Content signatures of the accepted formats; the extension the user gave is never trusted.
SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
]
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}

EMPTY_FILE = "Le fichier est vide."


def sniff_content_type(head):
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def safe_display_name(name, content_type):
    """A file name safe to show and to send back in Content-Disposition: no path, no control char."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # drop any path, Windows or POSIX
    stem, _ = os.path.splitext(name)
    stem = "".join(ch for ch in stem if ch.isprintable()).strip(". ")
    try:
        stem = get_valid_filename(stem)[:100]
    except Exception:  # get_valid_filename refuses names that reduce to nothing
        stem = ""
    return f"{stem or 'document'}{EXTENSIONS[content_type]}"


def inspect_upload(uploaded_file):
    """Validate an uploaded file without storing it; return (content_type, size, sha256, display name)."""
    max_bytes = settings.DOCUMENT_MAX_BYTES
    size = uploaded_file.size
    if size is not None and size > max_bytes:
        raise FileTooLarge(f"Le fichier dépasse la taille maximale de {max_bytes // (1024 * 1024)} Mo.")
    digest = hashlib.sha256()
    head = b""
    total = 0
    uploaded_file.seek(0)
    for chunk in uploaded_file.chunks():
        if len(head) < 16:
            head += chunk[: 16 - len(head)]
        total += len(chunk)
        if total > max_bytes:
            raise FileTooLarge(f"Le fichier dépasse la taille maximale de {max_bytes // (1024 * 1024)} Mo.")
        digest.update(chunk)
    uploaded_file.seek(0)
    if total == 0:
        raise InvalidInput(EMPTY_FILE, code="empty_file", errors={"file": [EMPTY_FILE]})
    content_type = sniff_content_type(head)
    if content_type is None:
        raise UnsupportedFileType()
    return content_type, total, digest.hexdigest(), safe_display_name(uploaded_file.name, content_type)
