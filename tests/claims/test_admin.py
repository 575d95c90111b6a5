"""The agents' back office, through the Django test client, logged in as each role."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from claims import services
from claims.enums import ClaimState, DocumentKind
from claims.models import ClaimEvent, Payment
from common.formatting import euros
from funding.calendar import paris_today
from funding.models import AnnuaireSnapshot, GrowthCheck
from tests.factories import UserFactory, agent, claim_in_state, validator

pytestmark = pytest.mark.django_db


def change_page(client, claim):
    response = client.get(reverse("admin:claims_claim_change", args=[claim.pk]))
    assert response.status_code == 200
    return response.content.decode()


def buttons(html):
    return set(re.findall(r'name="transition-([a-z_]+)"', html))


def post_transition(client, claim, name, **data):
    return client.post(reverse("admin:claims_claim_transition", args=[claim.pk, name]), data, follow=True)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize(
    ("state", "role", "expected"),
    [
        ("submitted", "instructeur", {"take"}),
        ("submitted", "valideur", set()),
        ("in_review", "instructeur", {"request_changes", "approve", "reject"}),
        ("in_review", "valideur", set()),
        ("approved", "instructeur", set()),
        ("approved", "valideur", {"mark_paid"}),
        ("rejected", "instructeur", set()),
        ("rejected", "valideur", {"reopen"}),
        ("paid", "instructeur", set()),
        ("paid", "valideur", set()),
        ("draft", "instructeur", set()),
    ],
)
def test_transition_buttons_show_only_what_the_role_may_do(client, state, role, expected):
    claim, _ = claim_in_state(state)
    client.force_login(agent("x-" + role, group=role))
    assert buttons(change_page(client, claim)) == expected


def test_guard_failure_is_explained_instead_of_a_button(client):
    claim, _ = claim_in_state("in_review")
    both = agent("double-role", group="instructeur")
    both.groups.add(*validator("v-tmp").groups.all())
    services.claim_approve(claim=claim, actor=both)
    client.force_login(both)
    html = change_page(client, claim)
    assert "mark_paid" not in buttons(html)
    assert "quatre yeux" in html


def test_instructor_approves_with_a_comment_logged(client):
    claim, _ = claim_in_state("in_review")
    instructor = claim.assigned_to
    client.force_login(instructor)
    response = post_transition(client, claim, "approve", comment="Dossier complet et conforme.")
    assert any("Approuvée" in m for m in messages_of(response))
    claim.refresh_from_db()
    assert claim.state == ClaimState.APPROVED
    event = claim.events.get(action="approve")
    assert (event.actor, event.comment) == (instructor, "Dossier complet et conforme.")


def test_reject_without_reason_is_refused_with_a_message(client):
    claim, _ = claim_in_state("in_review")
    client.force_login(claim.assigned_to)
    response = post_transition(client, claim, "reject", comment="  ")
    assert any("commentaire motivé est obligatoire" in m for m in messages_of(response))
    claim.refresh_from_db()
    assert claim.state == ClaimState.IN_REVIEW


def test_request_changes_sets_the_due_date(client):
    claim, _ = claim_in_state("in_review")
    client.force_login(claim.assigned_to)
    post_transition(client, claim, "request_changes", comment="Joindre la facture.", due="2099-01-15")
    claim.refresh_from_db()
    assert (claim.state, str(claim.correction_due)) == (ClaimState.CHANGES_REQUESTED, "2099-01-15")


def test_bad_date_is_a_message_not_an_error(client):
    claim, _ = claim_in_state("in_review")
    client.force_login(claim.assigned_to)
    response = post_transition(client, claim, "request_changes", comment="x", due="15/01/2099")
    assert response.status_code == 200
    assert any("Date invalide" in m for m in messages_of(response))


def test_four_eyes_refusal_in_the_admin(client):
    claim, _ = claim_in_state("in_review")
    both = agent("chef", group="instructeur")
    both.groups.add(*validator("v-tmp").groups.all())
    client.force_login(both)
    post_transition(client, claim, "approve")
    response = post_transition(client, claim, "mark_paid", reference="VIR-1")
    assert any("quatre yeux" in m for m in messages_of(response))
    assert not Payment.objects.filter(claim=claim).exists()


def test_double_payment_is_refused(client):
    claim, _ = claim_in_state("approved")
    client.force_login(validator())
    post_transition(client, claim, "mark_paid", reference="VIR-1", paid_on=paris_today().isoformat())
    response = post_transition(client, claim, "mark_paid", reference="VIR-2")
    assert any("impossible" in m for m in messages_of(response))
    assert Payment.objects.filter(claim=claim).count() == 1
    assert Payment.objects.get(claim=claim).reference == "VIR-1"


def test_get_on_a_transition_url_changes_nothing(client):
    claim, _ = claim_in_state("in_review")
    client.force_login(claim.assigned_to)
    response = client.get(reverse("admin:claims_claim_transition", args=[claim.pk, "approve"]))
    assert response.status_code == 405
    claim.refresh_from_db()
    assert claim.state == ClaimState.IN_REVIEW


def test_staff_without_a_role_sees_no_claim(client):
    claim, _ = claim_in_state("submitted")
    client.force_login(UserFactory(username="staff-nobody", is_staff=True))
    assert client.get(reverse("admin:claims_claim_changelist")).status_code == 403
    assert client.get(reverse("admin:claims_claim_change", args=[claim.pk])).status_code == 403


def test_operator_users_cannot_enter_the_admin(client):
    _claim, user = claim_in_state("submitted")
    client.force_login(user)
    response = client.get(reverse("admin:claims_claim_changelist"))
    assert response.status_code == 302


def test_documents_download_through_the_authorised_view(client):
    claim, _user = claim_in_state("submitted")
    document = claim.documents.get(kind=DocumentKind.CONFORMITY_REPORT)
    url = reverse("admin:claims_document_download", args=[document.pk])
    client.force_login(agent())
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert 'attachment; filename="preuve.pdf"' in response["Content-Disposition"]
    assert url in change_page(client, claim)


def test_history_inline_lists_every_event(client):
    claim, _ = claim_in_state("approved")
    client.force_login(agent())
    html = change_page(client, claim)
    for event in ClaimEvent.objects.filter(claim=claim):
        assert escape(event.action_label) in html  # « Prise en charge », never `take`


def test_breakdown_is_shown_as_a_table(client):
    claim, _ = claim_in_state("submitted")
    client.force_login(agent())
    html = change_page(client, claim)
    # The one breakdown template of the admin and the portal (templates/claims/_breakdown_table.html).
    assert 'class="portail-breakdown"' in html and "Source du nombre" in html and "Plafond" in html
    assert "583,30" in html  # 10 APP × 58.33


def test_validator_extends_a_deadline_from_the_claim_page(client):
    claim, _ = claim_in_state("draft")
    client.force_login(validator())
    new = claim.campaign.advance_deadline.replace(year=claim.campaign.advance_deadline.year + 1)
    client.post(
        reverse("admin:claims_claim_extend", args=[claim.pk]),
        {"new_deadline": new.isoformat(), "reason": "Incident ANS"},
    )
    assert claim.events.filter(action="extend_deadline").exists()


def test_dashboard_sums_by_state_and_funded_vs_paid(client):
    paid_claim, _ = claim_in_state("paid")
    claim_in_state("submitted")
    client.force_login(agent())
    response = client.get(reverse("admin:claims_dashboard"))
    assert response.status_code == 200
    campaign = next(c for c in response.context["campaigns"] if c["campaign"] == paid_claim.campaign)
    counts = {s["value"]: s["count"] for s in campaign["states"]}
    assert counts["paid"] == 1 and counts["submitted"] == 1
    approved_claim, _ = claim_in_state("approved")
    response = client.get(reverse("admin:claims_dashboard"))
    campaign = next(c for c in response.context["campaigns"] if c["campaign"] == paid_claim.campaign)
    # Granted = approved or paid only (the submitted claim is not granted yet), in amounts to pay.
    assert campaign["granted"] == paid_claim.amount + approved_claim.amount
    assert campaign["granted_to_pay"] == paid_claim.amount_to_pay + approved_claim.amount_to_pay
    assert campaign["paid"] == paid_claim.amount_to_pay
    assert campaign["paid_excl_vat"] == paid_claim.amount
    assert campaign["remaining"] == approved_claim.amount_to_pay
    assert euros(paid_claim.amount_to_pay) in response.content.decode()  # common.formatting, not floatformat
    assert "Tableau de bord des campagnes" in client.get(reverse("admin:index")).content.decode()


def test_amounts_are_rendered_in_french(client):
    claim, _ = claim_in_state("submitted")
    client.force_login(agent())
    changelist = client.get(reverse("admin:claims_claim_changelist")).content.decode()
    assert f"{claim.amount:.2f}".replace(".", ",") in changelist.replace("\u202f", "")
    assert Decimal("0") < claim.amount


def test_growth_anomaly_is_flagged_in_the_list_filter_and_claim_page(client):
    flagged_claim, _ = claim_in_state("submitted")
    other, _ = claim_in_state("submitted")
    before = AnnuaireSnapshot.objects.create(as_of="2023-01-01", file_name="a.txt", sha256="a" * 64)
    after = AnnuaireSnapshot.objects.create(as_of="2023-06-30", file_name="b.txt", sha256="b" * 64)
    GrowthCheck.objects.create(
        campaign=flagged_claim.campaign,
        operator=flagged_claim.operator,
        reference_snapshot=before,
        closure_snapshot=after,
        reference_count=100,
        closure_count=900,
        growth=Decimal("8"),
        overall_growth=Decimal("0.1"),
        factor=Decimal("3"),
        min_increase=50,
        flagged=True,
    )
    client.force_login(agent())
    flagged_list = client.get(reverse("admin:claims_claim_changelist") + "?flagged=yes").content.decode()
    assert f"/admin/claims/claim/{flagged_claim.pk}/change/" in flagged_list
    assert f"/admin/claims/claim/{other.pk}/change/" not in flagged_list
    assert "⚠ croissance" in flagged_list
    page = change_page(client, flagged_claim)
    assert "Anomalie signalée" in page and "100 BAL à la référence → 900" in page
    assert "(croissance 800,0\u00a0%, ensemble des opérateurs 10,0\u00a0%, seuil ×3,00)" in page
    assert "Anomalie signalée" not in change_page(client, other)


@pytest.mark.parametrize("field", ["pk", "siren", "referencing", "name"])
def test_changelist_search_finds_a_claim_by_number_siren_referencing_or_name(client, field):
    claim, _ = claim_in_state("submitted")
    other, _ = claim_in_state("submitted")
    for c, name in ((claim, "Alpha Santé"), (other, "Beta Réseau")):  # no digits: a number is not a name
        c.operator.legal_name = name
        c.operator.save()
    term = {
        "pk": str(claim.pk),
        "siren": claim.operator.siren,
        "referencing": claim.operator.referencings.get().number,
        "name": claim.operator.legal_name,
    }[field]
    client.force_login(agent())
    response = client.get(reverse("admin:claims_claim_changelist"), {"q": term})
    found = {c.pk for c in response.context["cl"].result_list}
    assert claim.pk in found and other.pk not in found
