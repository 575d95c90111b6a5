"""Upload errors the DSFR way: a summary at the top linking to each field, « Erreur — » in the title,
the proof kinds a claim needs (the first missing one selected), the documentation link required where
it is, actions after the upload block."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims import services
from claims.enums import ClaimKind, DocumentKind
from portal.forms import DocumentUploadForm
from tests.factories import claim_in_state

pytestmark = pytest.mark.django_db


def options(html):
    select = re.search(r'<select name="kind".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([a-z_0-9]+)"( selected)?', select)


def test_an_advance_offers_its_proofs_first_missing_selected(client, alpha, campaign):
    claim = services.claim_create(operator=alpha.operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=alpha.user)
    client.force_login(alpha.user)
    html = client.get(reverse("portal:claim", args=[claim.pk])).content.decode()
    offered = options(html)
    assert offered[0] == ("conformity_report", " selected")
    values = [value for value, _ in offered]
    assert DocumentKind.CONFORMITY_COMMITMENT not in values  # a balance's proof
    assert DocumentKind.INVOICE not in values  # a buyer's
    assert values[-2:] == ["end_client_contracts", "other"]
    assert "decision_letter" not in values and "receipt" not in values


def test_a_balance_offers_the_commitment_and_requires_the_documentation_link(client, alpha, campaign):
    _, user = claim_in_state("paid", operator=alpha.operator, campaign=campaign, user=alpha.user)
    balance = services.claim_create(operator=alpha.operator, campaign=campaign, kind=ClaimKind.BALANCE, actor=user)
    form = DocumentUploadForm(claim=balance)
    assert [value for value, _ in form.fields["kind"].choices] == [
        "conformity_commitment",
        "end_client_contracts",
        "other",
    ]
    assert form.fields["kind"].initial == "conformity_commitment"
    client.force_login(user)
    html = client.get(reverse("portal:claim", args=[balance.pk])).content.decode()
    label = re.search(r'<label class="fr-label" for="id_technical_doc_url">(.*?)</label>', html, re.S).group(1)
    assert "facultatif" not in label
    assert 'aria-required="true"' in re.search(r"<input[^>]*id_technical_doc_url[^>]*>", html).group(0)


def test_an_upload_error_gives_a_summary_at_the_top_and_erreur_in_the_title(client, alpha, campaign):
    claim = services.claim_create(operator=alpha.operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=alpha.user)
    client.force_login(alpha.user)
    bad = SimpleUploadedFile("rapport.pdf", b"MZ\x90\x00" + b"\x00" * 64, "application/pdf")
    response = client.post(reverse("portal:claim_upload", args=[claim.pk]), {"kind": "conformity_report", "file": bad})
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r"<title>Erreur — Avance n° \d+", html)
    summary = re.search(
        r'<div class="fr-alert fr-alert--error[^"]*" id="resume-erreurs" tabindex="-1".*?</div>', html, re.S
    )
    assert summary and 'href="#id_file"' in summary.group(0) and "Type de fichier refusé" in summary.group(0)
    assert html.index('id="resume-erreurs"') < html.index("<h1")  # at the top of the content
    assert "portail/erreurs.js" in html  # focuses the summary


def test_actions_come_after_the_upload_block(client, alpha, campaign):
    claim, user = claim_in_state("changes_requested", operator=alpha.operator, campaign=campaign, user=alpha.user)
    client.force_login(user)
    html = client.get(reverse("portal:claim", args=[claim.pk])).content.decode()
    assert html.index('id="formulaire-piece"') < html.index("Renvoyer la demande complétée")
