"""Login (throttled), password reset by e-mail, sign-up, enrolment and invitations through the portal."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from common.roles import operator_id_of
from operators import services as operator_services
from operators.enums import EnrolmentState
from operators.models import Enrolment, EnrolmentDocument, EnrolmentEvent, Membership
from tests.factories import ENROLMENT, PDF, PROOF_KINDS, proofs
from tests.portal.utils import text

pytestmark = pytest.mark.django_db

LOGIN = reverse("portal:login")
STRONG = "Un-mot-de-passe-s0lide"


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- Login, throttling, password reset --------------------------------------------------------------


def test_login_in_french_then_dashboard(client, alpha):
    alpha.user.set_password(STRONG)
    alpha.user.save()
    page = text(client.get(LOGIN))
    assert "Connexion au portail des opérateurs" in page and "Mot de passe oublié ?" in page
    response = client.post(LOGIN, {"username": alpha.user.username, "password": "faux"})
    assert "Saisissez un nom d’utilisateur et un mot de passe valides." in text(response)
    response = client.post(LOGIN, {"username": alpha.user.username, "password": STRONG})
    assert response["Location"] == reverse("portal:dashboard")


def test_login_is_locked_after_repeated_failures_with_a_french_message(client, alpha, beta, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for password in ("a", "b", "c"):
        client.post(LOGIN, {"username": alpha.user.username, "password": password})
    alpha.user.set_password(STRONG)
    alpha.user.save()
    response = client.post(LOGIN, {"username": alpha.user.username, "password": STRONG})
    assert response.status_code == 429
    page = text(response)
    assert "Connexion temporairement bloquée" in page
    assert "Trop de tentatives de connexion infructueuses" in page
    assert "15 minutes" in page
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not locked out.
    beta.user.set_password(STRONG)
    beta.user.save()
    assert client.post(LOGIN, {"username": beta.user.username, "password": STRONG}).status_code == 302


def test_a_success_resets_the_failure_count(client, alpha, settings):
    settings.AXES_FAILURE_LIMIT = 3
    alpha.user.set_password(STRONG)
    alpha.user.save()
    for _ in range(2):
        client.post(LOGIN, {"username": alpha.user.username, "password": "faux"})
    assert client.post(LOGIN, {"username": alpha.user.username, "password": STRONG}).status_code == 302
    client.post(reverse("portal:logout"))
    for _ in range(2):
        client.post(LOGIN, {"username": alpha.user.username, "password": "faux"})
    assert client.post(LOGIN, {"username": alpha.user.username, "password": STRONG}).status_code == 302


def test_programmatic_login_without_a_request_is_not_throttled(client, alpha):
    alpha.user.set_password(STRONG)
    alpha.user.save()
    assert client.login(username=alpha.user.username, password=STRONG)


def test_password_reset_by_email_sets_a_new_password(client, alpha, mailoutbox):
    alpha.user.email = "alpha@example.fr"
    alpha.user.save()
    response = client.post(reverse("portal:password_reset"), {"email": "alpha@example.fr"})
    assert response["Location"] == reverse("portal:password_reset_done")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.subject == "Financement Ségur MSSanté : réinitialisation de votre mot de passe"
    assert "Bonjour," in mail.body
    link = re.search(r"http://testserver(/portail/mot-de-passe/nouveau/\S+/)", mail.body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choisir un nouveau mot de passe" in text(form_page)
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Tout-nouveau-s3cret", "new_password2": "Tout-nouveau-s3cret"},
    )
    assert response["Location"] == reverse("portal:password_reset_complete")
    alpha.user.refresh_from_db()
    assert alpha.user.check_password("Tout-nouveau-s3cret")


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, db, mailoutbox):
    response = client.post(reverse("portal:password_reset"), {"email": "inconnu@example.fr"}, follow=True)
    assert "Vérifiez votre messagerie" in text(response)
    assert mailoutbox == []


# --- Sign-up and enrolment ------------------------------------------------------------------------


def test_sign_up_then_enrol_then_validation_opens_the_dashboard(
    client, db, instructor, mailoutbox, django_capture_on_commit_callbacks
):
    response = client.post(
        reverse("portal:signup"),
        {"username": "omega", "email": "rep@omega.example", "password1": STRONG, "password2": STRONG},
    )
    assert response["Location"] == reverse("portal:enrolment_new")
    user = get_user_model().objects.get(username="omega")
    assert operator_id_of(user) is None

    files = {kind: SimpleUploadedFile(f"{kind}.pdf", PDF, "application/pdf") for kind in PROOF_KINDS}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:enrolment_new"), {**ENROLMENT, **files})
    assert response["Location"] == reverse("portal:enrolment")
    enrolment = Enrolment.objects.get(user=user)
    assert enrolment.state == EnrolmentState.PENDING
    assert enrolment.documents.count() == 4
    page = text(client.get(reverse("portal:enrolment")))
    assert "En attente d'instruction" in page
    assert "Omega Messagerie Santé" in page
    dashboard = text(client.get(reverse("portal:dashboard")))
    assert "est en cours d'instruction par l'agence de paiement" in dashboard

    operator_services.enrolment_request_changes(enrolment=enrolment, actor=instructor, message="Le RIB est illisible.")
    assert "Le RIB est illisible." in text(client.get(reverse("portal:dashboard")))
    page = text(client.get(reverse("portal:enrolment")))
    assert "Compléments demandés par l'agence" in page and "Le RIB est illisible." in page
    rib = SimpleUploadedFile("rib.pdf", PDF, "application/pdf")
    response = client.post(
        reverse("portal:enrolment_resubmit", args=[enrolment.pk]),
        {**ENROLMENT, "bank_details": rib, "comment": "RIB rescanné."},
    )
    assert response["Location"] == reverse("portal:enrolment")
    enrolment.refresh_from_db()
    assert enrolment.state == EnrolmentState.PENDING
    assert enrolment.documents.filter(kind="bank_details").count() == 2

    operator_services.enrolment_validate(enrolment=enrolment, actor=instructor)
    dashboard = text(client.get(reverse("portal:dashboard")))
    assert "Demandes de financement — Omega Messagerie Santé" in dashboard
    enrolment.refresh_from_db()
    assert operator_id_of(get_user_model().objects.get(pk=user.pk)) == enrolment.operator_id is not None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"siren": "123456789"}, "siren", "SIREN invalide"),
        ({"iban": "FR7630006000011234567890180"}, "iban", "IBAN invalide."),
        ({"bank_details": None}, "bank_details", "Pièce manquante : Relevé d'identité bancaire (RIB)."),
    ],
    ids=["bad-siren", "bad-iban", "missing-document"],
)
def test_refused_enrolment_shows_french_errors_and_creates_nothing(
    client, representative, settings, change, field, message
):
    client.force_login(representative)
    files = proofs()
    data = {**ENROLMENT, **files, **change}
    data = {key: value for key, value in data.items() if value is not None}
    response = client.post(reverse("portal:enrolment_new"), data)
    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert f'id="id_{field}-desc-error"' in page
    assert "La demande d'enrôlement est incomplète ou invalide." in page
    assert Enrolment.objects.count() == 0
    assert EnrolmentDocument.objects.count() == 0
    assert EnrolmentEvent.objects.count() == 0
    # Only the files accepted are kept, in the staging area (portal.staging), for the next try.
    kept = stored_files(settings)
    assert all("staging" in path.parts for path in kept)
    assert len(kept) == len([kind for kind in files if kind != field])
    assert 'id="fichiers-conserves"' in page


def test_files_kept_after_an_error_are_not_chosen_again(client, representative, settings):
    client.force_login(representative)
    response = client.post(reverse("portal:enrolment_new"), {**ENROLMENT, "siren": "123456789", **proofs()})
    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("Fichier conservé :") == len(proofs())
    assert "<title>Erreur — " in page and 'id="resume-erreurs"' in page and 'href="#id_siren"' in page
    # The corrected form is sent with no file at all: the kept ones are used, then removed.
    response = client.post(reverse("portal:enrolment_new"), ENROLMENT)
    assert response.status_code == 302, response.content.decode()
    enrolment = Enrolment.objects.get()
    assert enrolment.documents.count() == len(proofs())
    assert not any("staging" in path.parts for path in stored_files(settings))


def test_disguised_enrolment_proof_is_refused_and_nothing_is_stored(client, representative, settings):
    client.force_login(representative)
    fake = SimpleUploadedFile("cni.pdf", b"MZ\x90\x00" + b"\x00" * 64, "application/pdf")
    response = client.post(reverse("portal:enrolment_new"), {**ENROLMENT, **proofs(representative_id=fake)})
    assert response.status_code == 400
    assert "Pièce d'identité du représentant légal : Type de fichier refusé" in text(response)
    assert Enrolment.objects.count() == 0
    # Nothing stored as a proof; the refused file is not even kept for the next try (the others are).
    kept = stored_files(settings)
    assert kept and all("staging" in path.parts for path in kept)
    assert not any(path.name.startswith("cni") for path in kept)


def test_sign_up_errors_are_french_and_create_no_account(client, db):
    response = client.post(
        reverse("portal:signup"),
        {"username": "a b", "email": "pas-une-adresse", "password1": "123", "password2": "124"},
    )
    assert response.status_code == 400
    page = text(response)
    assert "Les deux mots de passe ne correspondent pas." in page
    assert "Saisissez une adresse e-mail valide." in page
    response = client.post(
        reverse("portal:signup"), {"username": "a b", "email": "a@example.fr", "password1": "123", "password2": "123"}
    )
    page = text(response)
    assert "Identifiant invalide" in page
    assert "Ce mot de passe est trop court." in page
    assert get_user_model().objects.count() == 0


def test_one_open_enrolment_at_a_time(client, enrolment, representative):
    client.force_login(representative)
    response = client.get(reverse("portal:enrolment_new"), follow=True)
    assert "Vous avez déjà une demande d'enrôlement en cours." in text(response)


def test_members_are_not_asked_to_enrol(client, alpha):
    client.force_login(alpha.user)
    response = client.get(reverse("portal:enrolment_new"), follow=True)
    assert "Votre compte est déjà rattaché à un opérateur." in text(response)


# --- Invitations ------------------------------------------------------------------------------------


def test_the_validated_representative_invites_a_colleague_who_joins_through_the_link(
    client, enrolment, representative, instructor, mailoutbox, django_capture_on_commit_callbacks
):
    operator_services.enrolment_validate(enrolment=enrolment, actor=instructor)
    client.force_login(representative)
    page = text(client.get(reverse("portal:operator")))
    assert "Inviter un collègue" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:invitation_create"), {"email": "collegue@omega.example"})
    assert response["Location"] == reverse("portal:operator")
    invitation_mail = next(m for m in mailoutbox if "collegue@omega.example" in m.to)
    path = re.search(r"https?://[^/\s]+(/portail/invitation/\S+/)", invitation_mail.body).group(1)

    client.post(reverse("portal:logout"))
    response = client.post(path, {"username": "collegue", "password1": STRONG, "password2": STRONG})
    assert response["Location"] == reverse("portal:dashboard")
    colleague = get_user_model().objects.get(username="collegue")
    enrolment.refresh_from_db()
    assert Membership.objects.get(user=colleague, is_active=True).operator_id == enrolment.operator_id
    assert "Demandes de financement — Omega Messagerie Santé" in text(client.get(reverse("portal:dashboard")))
    # The link works once.
    client.post(reverse("portal:logout"))
    response = client.post(path, {"username": "autre", "password1": STRONG, "password2": STRONG})
    assert "Cette invitation est invalide, expirée ou déjà utilisée." in text(response)


def test_only_the_validated_representative_may_invite(client, alpha):
    client.force_login(alpha.user)
    page = text(client.get(reverse("portal:operator")))
    assert "Inviter un collègue" not in page
    response = client.post(reverse("portal:invitation_create"), {"email": "x@example.fr"}, follow=True)
    assert "Seul le représentant dont l'enrôlement a été validé peut inviter des collègues." in text(response)
