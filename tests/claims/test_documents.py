"""Proof uploads: checked by content and size before anything is stored; never overwritten."""

import hashlib

import pytest
from django.conf import settings as live
from django.core.files.uploadedfile import SimpleUploadedFile

from claims import services
from claims.enums import DocumentKind
from claims.models import ClaimEvent, Document
from claims.uploads import safe_display_name
from common.exceptions import FileTooLarge, InvalidInput, NotAllowed, StateConflict, UnsupportedFileType
from tests.factories import PDF, PNG, OperatorFactory, claim_in_state, operator_user, ready_advance

pytestmark = pytest.mark.django_db


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def draft():
    return ready_advance()


def upload(claim, user, name, content, kind=DocumentKind.OTHER):
    return services.document_upload(
        claim=claim, actor=user, kind=kind, uploaded_file=SimpleUploadedFile(name, content, "application/pdf")
    )


def test_pdf_is_stored_with_its_hash_size_type_and_uploader(draft, settings):
    claim, user = draft
    document = upload(claim, user, "Rapport final.pdf", PDF)
    assert document.content_type == "application/pdf"
    assert document.size == len(PDF)
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.uploaded_by == user
    assert document.original_name == "Rapport_final.pdf"
    with document.file.open("rb") as stored:
        assert stored.read() == PDF


def test_png_named_pdf_is_stored_as_png(draft):
    claim, user = draft
    document = upload(claim, user, "scan.pdf", PNG)
    assert document.content_type == "image/png"
    assert document.original_name == "scan.png"


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("malware.pdf", b"MZ\x90\x00" + b"\x00" * 100, UnsupportedFileType),
        ("archive.pdf", b"PK\x03\x04" + b"\x00" * 100, UnsupportedFileType),
        ("page.pdf", b"<html><script>alert(1)</script></html>", UnsupportedFileType),
        ("empty.pdf", b"", InvalidInput),
    ],
)
def test_refused_upload_leaves_nothing_on_disk_or_in_the_database(draft, settings, name, content, error):
    claim, user = draft
    documents_before, files_before = Document.objects.count(), stored_files(settings)
    events_before = ClaimEvent.objects.count()
    with pytest.raises(error):
        upload(claim, user, name, content)
    assert Document.objects.count() == documents_before
    assert stored_files(settings) == files_before
    assert ClaimEvent.objects.count() == events_before


def test_oversize_upload_is_refused_with_the_limit(draft, settings):
    claim, user = draft
    settings.DOCUMENT_MAX_BYTES = 1024
    files_before = stored_files(settings)
    with pytest.raises(FileTooLarge) as error:
        upload(claim, user, "big.pdf", PDF + b"0" * 2000)
    assert error.value.http_status == 413
    assert stored_files(settings) == files_before


def test_default_limit_is_20_mb(settings):
    assert live.DOCUMENT_MAX_BYTES == 20 * 1024 * 1024


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
        ("/absolute/path/x.pdf", "x.pdf"),
        ("....pdf", "pdf.pdf"),
        ("..", "document.pdf"),
        ("", "document.pdf"),
        ("rapport\x00caché.exe.pdf", "rapportcaché.exe.pdf"),
        ("<script>.pdf", "script.pdf"),
    ],
)
def test_file_names_are_sanitised(name, expected):
    assert safe_display_name(name, "application/pdf") == expected


def test_path_traversal_name_never_reaches_the_storage_path(draft, settings):
    claim, user = draft
    document = upload(claim, user, "../../../../tmp/evil.pdf", PDF)
    stored = (settings.MEDIA_ROOT / document.file.name).resolve()
    assert str(stored).startswith(str(settings.MEDIA_ROOT.resolve()))
    assert "evil" not in document.file.name
    assert document.original_name == "evil.pdf"


def test_new_upload_is_a_new_version_and_never_overwrites(draft):
    claim, user = draft
    first = upload(claim, user, "a.pdf", PDF, kind=DocumentKind.INVOICE)
    second = upload(claim, user, "a.pdf", PDF + b"%v2", kind=DocumentKind.INVOICE)
    assert (first.version, second.version) == (1, 2)
    assert first.file.name != second.file.name
    with first.file.open("rb") as stored:
        assert stored.read() == PDF


def test_unknown_kind_is_refused(draft):
    claim, user = draft
    with pytest.raises(InvalidInput):
        upload(claim, user, "a.pdf", PDF, kind="passport")


def test_another_operator_cannot_upload(draft):
    claim, _ = draft
    with pytest.raises(NotAllowed):
        upload(claim, operator_user(OperatorFactory()), "a.pdf", PDF)


def test_no_upload_once_submitted():
    claim, user = claim_in_state("submitted")
    with pytest.raises(StateConflict):
        upload(claim, user, "a.pdf", PDF)
