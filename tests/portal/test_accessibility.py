"""Basic accessibility of every portal page: a lang, a title, labelled fields, headings in order.

Pages are fetched in each of their states that change the markup (empty form, form in error,
claim in each state the operator acts on, enrolment in each state) and parsed with html.parser.
"""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from claims import services
from claims.enums import ClaimKind
from operators import services as operator_services
from tests.factories import ENROLMENT, claim_in_state, proofs
from tests.portal.utils import audit, check

pytestmark = pytest.mark.django_db


def test_the_audit_detects_what_it_checks():
    """The checker itself fails on each kind of problem (so a green run means something)."""
    good = (
        '<html lang="fr"><head><title>T</title></head><body><h1>A</h1><h2>B</h2>'
        '<label for="x">X</label><input id="x" name="x"><input type="hidden" name="h"></body></html>'
    )
    assert audit(good)[0] == []
    bad_pages = {
        "lang": good.replace('lang="fr"', 'lang="en"'),
        "title": good.replace("<title>T</title>", ""),
        "label": good.replace('<label for="x">X</label>', ""),
        "skip": good.replace("<h2>B</h2>", "<h3>B</h3>"),
        "first": good.replace("<h1>A</h1>", ""),
        "select": good.replace("</body>", '<select name="s"></select></body>'),
        "textarea": good.replace("</body>", '<textarea name="t"></textarea></body>'),
    }
    for name, html in bad_pages.items():
        assert audit(html)[0], name


def test_public_pages(client, db):
    for name in (
        "portal:login",
        "portal:signup",
        "portal:password_reset",
        "portal:password_reset_done",
        "portal:password_reset_complete",
        "portal:simulator",
    ):
        check(client, reverse(name))
    simulator = reverse("portal:simulator")
    parser = check(client, simulator, data={"APP": 700, "ORG": 5000, "PER": 40000})
    assert parser.headings.count(3) == 2  # one result per published schedule
    check(client, simulator, data={"APP": "-1", "ORG": "x", "PER": ""}, expect=(400,))
    check(client, reverse("portal:login"), method="post", data={"username": "x", "password": "y"})
    check(client, reverse("portal:signup"), method="post", data={"username": "a b"}, expect=(400,))
    check(client, reverse("portal:invitation_accept", args=["jeton"]))
    check(client, reverse("portal:invitation_accept", args=["jeton"]), method="post", data={}, expect=(400,))


def test_password_reset_confirm_page(client, alpha):
    uid = urlsafe_base64_encode(force_bytes(alpha.user.pk))
    token = default_token_generator.make_token(alpha.user)
    response = client.get(reverse("portal:password_reset_confirm", args=[uid, token]), follow=True)
    problems, _ = audit(response.content.decode())
    assert problems == []
    assert "new_password1" in response.content.decode()
    check(client, reverse("portal:password_reset_confirm", args=[uid, "mauvais-jeton"]))


def test_lockout_page(client, alpha, settings):
    settings.AXES_FAILURE_LIMIT = 1
    url = reverse("portal:login")
    client.post(url, {"username": alpha.user.username, "password": "faux"})
    check(client, url, method="post", data={"username": alpha.user.username, "password": "faux"}, expect=(429,))


@pytest.mark.parametrize("state", ["draft", "submitted", "changes_requested", "rejected", "paid", "withdrawn"])
def test_claim_pages_in_each_state(client, alpha, campaign, state):
    claim, user = claim_in_state(state, operator=alpha.operator, campaign=campaign, user=alpha.user)
    client.force_login(user)
    check(client, reverse("portal:dashboard"))
    check(client, reverse("portal:claim", args=[claim.pk]))


def test_claim_page_with_form_errors_and_a_balance(client, alpha, campaign, instructor):
    _, user = claim_in_state("paid", operator=alpha.operator, campaign=campaign, user=alpha.user)
    balance = services.claim_create(operator=alpha.operator, campaign=campaign, kind=ClaimKind.BALANCE, actor=user)
    client.force_login(user)
    check(client, reverse("portal:claim", args=[balance.pk]))
    bad_file = SimpleUploadedFile("x.pdf", b"MZ", "application/pdf")
    check(
        client,
        reverse("portal:claim_upload", args=[balance.pk]),
        method="post",
        data={"kind": "other", "file": bad_file},
        expect=(400,),
    )
    check(
        client,
        reverse("portal:claim_update_details", args=[balance.pk]),
        method="post",
        data={"technical_doc_url": "pas une adresse"},
        expect=(400,),
    )
    client.force_login(instructor)
    check(client, reverse("portal:dashboard"))
    check(client, reverse("portal:claim", args=[balance.pk]))


def test_enrolment_pages_in_each_state(client, representative, instructor):
    client.force_login(representative)
    check(client, reverse("portal:dashboard"))
    check(client, reverse("portal:enrolment_new"))
    check(client, reverse("portal:enrolment_new"), method="post", data={"siren": "123"}, expect=(400,))
    enrolment = operator_services.enrolment_submit(user=representative, documents=proofs(), **ENROLMENT)
    check(client, reverse("portal:dashboard"))
    check(client, reverse("portal:enrolment"))
    enrolment = operator_services.enrolment_request_changes(
        enrolment=enrolment, actor=instructor, message="RIB illisible."
    )
    check(client, reverse("portal:dashboard"))
    check(client, reverse("portal:enrolment"))
    check(
        client,
        reverse("portal:enrolment_resubmit", args=[enrolment.pk]),
        method="post",
        data={**ENROLMENT, "iban": "FR00"},
        expect=(400,),
    )
    operator_services.enrolment_resubmit(enrolment=enrolment, actor=representative)
    operator_services.enrolment_validate(enrolment=enrolment, actor=instructor)
    check(client, reverse("portal:enrolment"))
    check(client, reverse("portal:dashboard"))
    check(client, reverse("portal:operator"))
    check(client, reverse("portal:invitation_create"), method="post", data={"email": "pas-une-adresse"}, expect=(400,))
