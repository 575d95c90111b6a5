"""An instructor approves a submitted claim, a validator pays it: through the real admin in Chromium."""

from claims.enums import ClaimState
from claims.models import Claim
from tests.factories import agent, claim_in_state, validator


def test_instructor_approves_and_validator_pays_in_the_admin(page, login):
    claim, _ = claim_in_state("submitted")
    instructor, payer = agent("instructrice"), validator("valideur-e2e")
    change_url = f"/admin/claims/claim/{claim.pk}/change/"

    login(page, instructor.username, "pw", path="/admin/login/")
    page.goto(change_url)
    with page.expect_navigation():
        page.click("input[name=transition-take]")
    assert "En instruction" in page.inner_text(".messagelist")
    page.fill("#comment-approve", "Dossier complet, rapport de conformité valide.")
    with page.expect_navigation():
        page.click("input[name=transition-approve]")
    assert "Approuvée" in page.inner_text(".messagelist")
    assert page.locator("input[name=transition-mark_paid]").count() == 0  # not an instructor's button
    page.context.clear_cookies()

    login(page, payer.username, "pw", path="/admin/login/")
    page.goto(change_url)
    page.fill("#reference-mark_paid", "VIR-E2E-0001")
    with page.expect_navigation():
        page.click("input[name=transition-mark_paid]")
    assert "Payée" in page.inner_text(".messagelist")

    history = page.inner_text("#events-group")  # the read-only history inline
    assert "Dossier complet, rapport de conformité valide." in history
    assert "Virement VIR-E2E-0001" in history
    assert instructor.username in history and payer.username in history
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.PAID
