"""Agents see snapshots, unknown domains (with a way to attach them), growth flags and the budget."""

from datetime import date

import pytest
from django.urls import reverse

from funding import admin as funding_admin
from funding import services
from funding.models import AnnuaireSnapshot, Campaign, GrowthCheck, MailboxCount
from tests.factories import OperatorFactory, agent, operator_user, pdf, segur_campaign
from tests.funding.annuaire_utils import AFTER_CLOSURE, extraction, operator_with_domains, row

pytestmark = pytest.mark.django_db

CLOSURE = date(2023, 6, 30)


@pytest.fixture
def snapshot(tmp_path):
    operator_with_domains("alpha.mssante.fr", legal_name="Alpha Santé")
    rows = [row("PER", "a@alpha.mssante.fr"), row("ORG", "x@inconnu.mssante.fr"), row("PER", "y@inconnu.mssante.fr")]
    return services.annuaire_import(path=extraction(tmp_path, rows), as_of=CLOSURE).snapshot


def test_unknown_domains_page_lists_them_with_a_prefilled_attach_link(client, snapshot):
    client.force_login(agent())
    response = client.get(reverse("admin:funding_snapshot_unknown", args=[snapshot.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "inconnu.mssante.fr" in page
    assert "alpha.mssante.fr" not in page
    assert "name=inconnu.mssante.fr&amp;valid_from=2023-06-30" in page
    add_form = client.get(reverse("admin:operators_maildomain_add") + "?name=inconnu.mssante.fr")
    assert add_form.status_code == 200
    assert 'value="inconnu.mssante.fr"' in add_form.content.decode()


def test_snapshot_pages_show_counts_per_operator(client, snapshot):
    client.force_login(agent())
    assert client.get(reverse("admin:funding_annuairesnapshot_change", args=[snapshot.pk])).status_code == 200
    page = client.get(reverse("admin:funding_snapshot_operators", args=[snapshot.pk])).content.decode()
    assert "Alpha Santé" in page


def test_operator_users_cannot_see_snapshot_pages(client, snapshot):
    client.force_login(operator_user(OperatorFactory()))
    response = client.get(reverse("admin:funding_snapshot_unknown", args=[snapshot.pk]))
    assert response.status_code == 302  # to the admin login
    assert AnnuaireSnapshot.objects.count() == 1


def test_growth_figures_show_on_the_operator(client, tmp_path, settings):
    settings.ANOMALY_MIN_INCREASE = 1
    surge = operator_with_domains("surge.mssante.fr", legal_name="Envolée")
    operator_with_domains("steady.mssante.fr", legal_name="Stable")
    (tmp_path / "ref").mkdir()
    before = [row("PER", f"s{n}@steady.mssante.fr") for n in range(10)] + [row("PER", "e@surge.mssante.fr")]
    services.annuaire_import(path=extraction(tmp_path / "ref", before), as_of=date(2023, 1, 1))
    after = before + [row("PER", f"e{n}@surge.mssante.fr") for n in range(9)]
    services.annuaire_import(path=extraction(tmp_path, after, name=AFTER_CLOSURE), as_of=CLOSURE)
    campaign = segur_campaign(closure=CLOSURE)
    client.force_login(agent())
    response = client.post(
        reverse("admin:funding_campaign_changelist"),
        {"action": "refresh_growth_checks", "_selected_action": [campaign.pk]},
        follow=True,
    )
    assert "1 signalé(s)" in response.content.decode()
    assert GrowthCheck.objects.get(operator=surge).flagged
    page = client.get(reverse("admin:operators_operator_change", args=[surge.pk])).content.decode()
    assert "1 BAL au 01/01/2023 → 10 BAL au 30/06/2023" in page
    assert "ANOMALIE" in page
    listing = client.get(reverse("admin:operators_operator_changelist")).content.decode()
    assert "icon-yes" in listing


def test_campaign_budget_page_and_csv(client):
    campaign = segur_campaign(code="budget", closure=CLOSURE)
    operator = OperatorFactory(legal_name="Gamma")
    MailboxCount.objects.create(operator=operator, mailbox_type="PER", as_of=CLOSURE, count=100, source_note="t")
    client.force_login(agent())
    page = client.get(reverse("admin:funding_campaign_report", args=[campaign.pk]) + "?schedule=workshop-2022-03")
    assert page.status_code == 200
    assert "Gamma" in page.content.decode()
    assert "workshop-2022-03" in page.content.decode()
    csv = client.get(reverse("admin:funding_campaign_report", args=[campaign.pk]) + "?format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    assert "Gamma" in csv.content.decode()


def test_agent_entry_in_the_admin_requires_a_proof(client, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    operator = OperatorFactory()
    client.force_login(agent())
    url = reverse("admin:funding_mailboxcount_add")
    data = {
        "operator": operator.pk,
        "mailbox_type": "APP",
        "as_of": "2023-06-30",
        "count": 5,
        "source_note": "Courrier",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Joignez la pièce" in response.content.decode()
    assert not MailboxCount.objects.exists()
    response = client.post(url, {**data, "proof_upload": pdf()})
    assert response.status_code == 302
    entry = MailboxCount.objects.get()
    assert entry.count == 5
    assert entry.proof
    assert entry.entered_by.username == "instructeur1"
    # A second entry for the same day replaces the figure.
    client.post(url, {**data, "count": 6, "proof_upload": pdf()})
    assert MailboxCount.objects.get().count == 6


def test_snapshot_page_reads_types_and_errors_as_text(client, tmp_path, monkeypatch):
    monkeypatch.setattr(funding_admin, "ERRORS_SHOWN", 2)
    rows = [row("PER", "a@x.fr"), row("CAB", "c@x.fr"), row("ZZZ", "b@x.fr"), row("PER", "bad"), row("PER", "")]
    snapshot = services.annuaire_import(path=extraction(tmp_path, rows), as_of=CLOSURE).snapshot
    client.force_login(agent())
    page = client.get(reverse("admin:funding_annuairesnapshot_change", args=[snapshot.pk])).content.decode()
    assert "<div>CAB : 1 (non financées)</div>" in page
    assert "<div>ZZZ : 1 (type inconnu, lignes rejetées)</div>" in page
    assert "<li>ligne 4 : type de BAL inconnu : « ZZZ »</li>" in page
    assert "<li>ligne 5 : adresse BAL invalide : « bad »</li>" in page
    assert "ligne 6" not in page
    assert "<li>… et 1 autre</li>" in page
    assert "&quot;line&quot;" not in page  # no raw JSON


def test_campaign_page_says_which_closure_snapshot_the_balances_read(client, tmp_path):
    campaign = segur_campaign(closure=CLOSURE)
    client.force_login(agent())
    url = reverse("admin:funding_campaign_change", args=[campaign.pk])
    page = client.get(url).content.decode()
    assert "Aucune extraction générée après la fin du jour de clôture" in page
    services.annuaire_import(path=extraction(tmp_path, [row("PER")], name=AFTER_CLOSURE), as_of=CLOSURE)
    page = client.get(url).content.decode()
    assert f"{AFTER_CLOSURE} (au 30/06/2023, générée le 01/07/2023 à 04:00 (heure de Paris))" in page
    assert "par défaut : la première générée après la clôture" in page
    assert Campaign.objects.get(pk=campaign.pk).developer_schedule.code == "segur-2023"
