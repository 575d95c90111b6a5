"""Proof checks now live in `common.uploads` (enrolment proofs use them too); kept for existing imports."""

from common.uploads import EMPTY_FILE, EXTENSIONS, SIGNATURES, inspect_upload, safe_display_name, sniff_content_type

__all__ = ["EMPTY_FILE", "EXTENSIONS", "SIGNATURES", "inspect_upload", "safe_display_name", "sniff_content_type"]
