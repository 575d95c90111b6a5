"""The agents' admin in production French: list columns that fit, formatted amounts, plain titles,
the history button opening the audit trail, and no link that leads an agent to a 403."""

import re

import pytest

from tests.factories import agent, claim_in_state, validator

pytestmark = pytest.mark.django_db


def test_the_claims_list_shows_operator_and_siren_in_one_cell_and_euros(client):
    claim, _ = claim_in_state("submitted")
    client.force_login(agent())
    html = client.get("/admin/claims/claim/").content.decode()
    assert f"SIREN {claim.operator.siren}" in html
    assert "\u00a0€" in html
    assert "<title>Demandes de financement |" in html and "Sélectionnez" not in html


def test_the_claim_page_formats_amounts_and_has_a_plain_title(client):
    claim, _ = claim_in_state("approved")
    client.force_login(agent())
    html = client.get(f"/admin/claims/claim/{claim.pk}/change/").content.decode()
    assert "<h1>Modification" not in html and f"<h1>Demande de financement : {claim}</h1>" in html
    for label in ("financement total HT", "montant à verser", "taux de TVA"):
        assert label.lower() in html.lower()
    assert re.search(r"\d\u202f?\d*,\d\d\u00a0€", html)


def test_history_opens_the_audit_trail(client):
    claim, _ = claim_in_state("submitted")
    client.force_login(agent())
    response = client.get(f"/admin/claims/claim/{claim.pk}/history/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/admin/claims/claim/{claim.pk}/change/#events-group")


@pytest.mark.parametrize("make_agent", [agent, validator])
def test_no_link_on_a_claim_page_leads_an_agent_to_a_403(client, make_agent):
    claim, _ = claim_in_state("paid")
    client.force_login(make_agent("agent-liens"))
    html = client.get(f"/admin/claims/claim/{claim.pk}/change/").content.decode()
    links = set(re.findall(r'href="(/admin/[^"#?]*)"', html)) - {"/admin/logout/"}
    assert links
    for link in sorted(links):
        response = client.get(link)
        response.close()  # downloads are streamed files
        assert response.status_code != 403, link
