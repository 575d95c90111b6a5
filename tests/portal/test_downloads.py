"""Every download of a stored proof — API, portal, admin; claims and enrolments — is the same response
(common.downloads): an attachment under a sanitised name, never cached, sniffed or rendered."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from claims import services
from claims.enums import DocumentKind
from tests.factories import api_key_for, pdf, ready_advance

pytestmark = pytest.mark.django_db

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


def assert_safe_download(response):
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF-")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "/" not in disposition and "\\" not in disposition and "\n" not in disposition
    assert disposition.endswith('.pdf"') or disposition.endswith(".pdf")
    for name, value in EXPECTED.items():
        if name == "Cache-Control":  # the admin's never_cache adds to it
            assert {"private", "no-store"} <= {part.strip() for part in response[name].split(",")}
        else:
            assert response[name] == value, name


@pytest.fixture
def claim_document():
    claim, user = ready_advance()
    document = services.document_upload(
        claim=claim, actor=user, kind=DocumentKind.CONFORMITY_REPORT, uploaded_file=pdf('..\\..\\etc/pass"wd\r\n.pdf')
    )
    return claim, user, document


def test_claim_proof_downloads_carry_the_same_headers_on_api_portal_and_admin(client, claim_document, instructor):
    claim, user, document = claim_document
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    assert_safe_download(api.get(f"/api/v1/claims/{claim.pk}/documents/{document.pk}/download"))
    client.force_login(user)
    assert_safe_download(client.get(reverse("portal:document_download", args=[document.pk])))
    client.force_login(instructor)
    assert_safe_download(client.get(reverse("admin:claims_document_download", args=[document.pk])))


def test_enrolment_proof_downloads_carry_the_same_headers_on_api_portal_and_admin(
    client, enrolment, representative, instructor
):
    document = enrolment.documents.order_by("pk").first()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(representative)}")
    assert_safe_download(api.get(f"/api/v1/enrolments/{enrolment.pk}/documents/{document.pk}/download"))
    client.force_login(representative)
    assert_safe_download(client.get(reverse("portal:enrolment_document_download", args=[document.pk])))
    client.force_login(instructor)
    assert_safe_download(client.get(reverse("admin:operators_enrolmentdocument_download", args=[document.pk])))
