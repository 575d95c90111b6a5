"""Access-control matrix of the portal: anonymous → login, another operator → 404, owner → 200, agents."""

import pytest
from django.urls import reverse

from claims import services
from claims.enums import ClaimState
from claims.models import Claim, ClaimEvent, Document
from operators import services as operator_services
from operators.models import Invitation
from operators.services import invitation_create
from tests.factories import PDF, pdf, ready_advance
from tests.portal.utils import get, text

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = [
    "portal:login",
    "portal:signup",
    "portal:password_reset",
    "portal:password_reset_done",
    "portal:password_reset_complete",
    "portal:simulator",
]


@pytest.fixture
def draft(alpha, campaign):
    claim, _ = ready_advance(operator=alpha.operator, campaign=campaign, user=alpha.user)
    return claim


def protected_gets(claim):
    document = claim.documents.first()
    return [
        reverse("portal:dashboard"),
        reverse("portal:claim", args=[claim.pk]),
        reverse("portal:document_download", args=[document.pk]),
        reverse("portal:enrolment"),
        reverse("portal:enrolment_new"),
        reverse("portal:operator"),
    ]


def protected_posts(claim):
    return [
        (reverse("portal:claim_create"), {"campaign": claim.campaign.code, "kind": "balance"}),
        (reverse("portal:claim_upload", args=[claim.pk]), {"kind": "other", "file": pdf()}),
        (reverse("portal:claim_update_details", args=[claim.pk]), {"technical_doc_url": "https://x.example"}),
        (reverse("portal:claim_submit", args=[claim.pk]), {}),
        (reverse("portal:claim_resubmit", args=[claim.pk]), {}),
        (reverse("portal:claim_withdraw", args=[claim.pk]), {}),
        (reverse("portal:invitation_create"), {"email": "x@example.fr"}),
    ]


def snapshot(claim):
    claim.refresh_from_db()
    return (
        claim.state,
        claim.technical_doc_url,
        ClaimEvent.objects.count(),
        Document.objects.count(),
        Claim.objects.count(),
    )


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_pages_answer_anonymous_visitors(client, name):
    response = get(client, reverse(name))
    assert response.status_code == 200
    assert 'lang="fr"' in text(response)


def test_anonymous_visitors_are_sent_to_the_login_page_for_every_other_page(client, draft):
    login = reverse("portal:login")
    for url in protected_gets(draft):
        response = get(client, url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{login}?next="), url
    before = snapshot(draft)
    for url, data in protected_posts(draft):
        response = client.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{login}?next="), url
    assert snapshot(draft) == before


def test_root_redirects_to_the_portal(client):
    response = get(client, "/")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:dashboard")


def test_operator_gets_404_on_another_operators_claim_and_documents_and_changes_nothing(client, draft, beta):
    client.force_login(beta.user)
    document = draft.documents.first()
    for url in (
        reverse("portal:claim", args=[draft.pk]),
        reverse("portal:document_download", args=[document.pk]),
    ):
        assert get(client, url).status_code == 404, url
    before = snapshot(draft)
    for url, data in protected_posts(draft):
        if url in (reverse("portal:claim_create"), reverse("portal:invitation_create")):
            continue  # not about alpha's objects
        assert client.post(url, data).status_code == 404, url
    assert snapshot(draft) == before
    assert draft.state == ClaimState.DRAFT


def test_operator_dashboard_does_not_list_another_operators_claims(client, draft, beta):
    client.force_login(beta.user)
    response = get(client, reverse("portal:dashboard"))
    assert response.status_code == 200
    assert reverse("portal:claim", args=[draft.pk]) not in text(response)
    assert "Alpha Santé" not in text(response)


def test_user_without_operator_gets_404_on_claims_and_documents(client, draft, representative):
    client.force_login(representative)
    assert get(client, reverse("portal:claim", args=[draft.pk])).status_code == 404
    assert get(client, reverse("portal:document_download", args=[draft.documents.first().pk])).status_code == 404
    assert get(client, reverse("portal:operator")).status_code == 404


def test_owner_opens_every_page_of_its_claim(client, draft, alpha):
    client.force_login(alpha.user)
    for url in protected_gets(draft):
        response = get(client, url)
        if url == reverse("portal:enrolment") or url == reverse("portal:enrolment_new"):
            # A member with no enrolment of its own is sent where it belongs.
            assert response.status_code == 302, url
            continue
        assert response.status_code == 200, url


def test_document_download_is_an_attachment_with_a_safe_name(client, draft, alpha):
    document = services.document_upload(
        claim=draft,
        actor=alpha.user,
        kind="other",
        uploaded_file=pdf(name='../../etc/"rapport"\r\nX-Injected: 1.pdf', content=PDF),
    )
    client.force_login(alpha.user)
    response = get(client, reverse("portal:document_download", args=[document.pk]))
    assert response.status_code == 200
    assert response.body == PDF
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "\r" not in disposition and "\n" not in disposition
    assert "/" not in disposition.split("filename", 1)[1]
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert "X-Injected" not in response


def test_agents_read_claims_and_download_proofs_but_cannot_act_as_the_operator(client, draft, instructor):
    client.force_login(instructor)
    response = get(client, reverse("portal:claim", args=[draft.pk]))
    assert response.status_code == 200
    assert reverse("portal:claim_submit", args=[draft.pk]) not in text(response)
    assert reverse("portal:claim_withdraw", args=[draft.pk]) not in text(response)
    assert get(client, reverse("portal:document_download", args=[draft.documents.first().pk])).status_code == 200

    before = snapshot(draft)
    response = client.post(reverse("portal:claim_submit", args=[draft.pk]), follow=True)
    assert "Vous n'avez pas le droit d'effectuer cette action." in text(response)
    assert snapshot(draft) == before

    dashboard = get(client, reverse("portal:dashboard"))
    assert dashboard.status_code == 200
    assert "Vous êtes connecté en tant qu'agent" in text(dashboard)
    assert get(client, reverse("portal:operator")).status_code == 404
    response = get(client, reverse("portal:enrolment_new"), follow=True)
    assert "Un compte d'agent ne peut pas représenter un opérateur." in text(response)


def test_enrolment_proofs_are_downloaded_by_their_representative_and_agents_only(
    client, enrolment, representative, alpha, instructor
):
    document = enrolment.documents.first()
    url = reverse("portal:enrolment_document_download", args=[document.pk])
    assert get(client, url).status_code == 302
    client.force_login(alpha.user)
    assert get(client, url).status_code == 404
    client.force_login(representative)
    response = get(client, url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    client.force_login(instructor)
    assert get(client, url).status_code == 200


def test_another_operators_invitation_cannot_be_revoked(client, beta, enrolment, representative, instructor):
    operator_services.enrolment_validate(enrolment=enrolment, actor=instructor)
    manager = type(representative).objects.get(pk=representative.pk)  # fresh: now a member
    invitation = invitation_create(operator=manager.membership.operator, email="colleague@omega.example", actor=manager)
    client.force_login(beta.user)
    response = client.post(reverse("portal:invitation_revoke", args=[invitation.pk]))
    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert Invitation.objects.count() == 1


def test_logout_is_a_post_and_ends_the_session(client, alpha):
    client.force_login(alpha.user)
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302
    assert get(client, reverse("portal:dashboard")).status_code == 302
