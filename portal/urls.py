from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from portal import accounts, bank_details, pages, tokens, views
from portal.auth import LoginView
from portal.forms import LoginForm, PasswordResetForm, SetPasswordForm

app_name = "portal"

auth = [
    path(
        "connexion/",
        LoginView.as_view(
            template_name="portail/login.html", authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "mot-de-passe/oubli/",
        auth_views.PasswordResetView.as_view(
            template_name="portail/password_reset.html",
            form_class=PasswordResetForm,
            email_template_name="portail/emails/password_reset.txt",
            subject_template_name="portail/emails/password_reset_subject.txt",
            success_url=reverse_lazy("portal:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "mot-de-passe/oubli/envoye/",
        auth_views.PasswordResetDoneView.as_view(template_name="portail/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "mot-de-passe/nouveau/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="portail/password_reset_confirm.html",
            form_class=SetPasswordForm,
            success_url=reverse_lazy("portal:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe/modifie/",
        auth_views.PasswordResetCompleteView.as_view(template_name="portail/password_reset_complete.html"),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    *auth,
    path("", views.dashboard, name="dashboard"),
    path("simulateur/", views.simulator, name="simulator"),
    *(path(route, pages.page, {"name": name}, name=name) for name, (_template, _title, route) in pages.PAGES.items()),
    path("inscription/", accounts.signup, name="signup"),
    path("enrolement/", accounts.enrolment, name="enrolment"),
    path("enrolement/nouvelle/", accounts.enrolment_new, name="enrolment_new"),
    path("enrolement/<int:pk>/renvoyer/", accounts.enrolment_resubmit, name="enrolment_resubmit"),
    path(
        "enrolement/pieces/<int:pk>/telecharger/",
        accounts.enrolment_document_download,
        name="enrolment_document_download",
    ),
    path("operateur/", accounts.operator_profile, name="operator"),
    path("operateur/bal/", views.mailboxes, name="mailboxes"),
    path("operateur/coordonnees-bancaires/", bank_details.bank_details, name="bank_details"),
    path(
        "operateur/coordonnees-bancaires/rib/<int:pk>/telecharger/",
        bank_details.bank_details_proof_download,
        name="bank_details_proof_download",
    ),
    path("jetons/", tokens.api_tokens, name="api_tokens"),
    path("jetons/<int:pk>/revoquer/", tokens.api_token_revoke, name="api_token_revoke"),
    path("mot-de-passe/changer/", tokens.password_change, name="password_change"),
    path("operateur/invitations/", accounts.invitation_create, name="invitation_create"),
    path("operateur/invitations/<int:pk>/revoquer/", accounts.invitation_revoke, name="invitation_revoke"),
    path("invitation/<str:token>/", accounts.invitation_accept, name="invitation_accept"),
    path("demandes/nouvelle/", views.claim_create, name="claim_create"),
    path("demandes/<int:pk>/", views.claim_detail, name="claim"),
    path("demandes/<int:pk>/pieces/", views.claim_upload, name="claim_upload"),
    path("demandes/<int:pk>/documentation/", views.claim_update_details, name="claim_update_details"),
    path("demandes/<int:pk>/deposer/", views.claim_transition, {"action": "submit"}, name="claim_submit"),
    path("demandes/<int:pk>/renvoyer/", views.claim_transition, {"action": "resubmit"}, name="claim_resubmit"),
    path("demandes/<int:pk>/retirer/", views.claim_transition, {"action": "withdraw"}, name="claim_withdraw"),
    path(
        "demandes/<int:pk>/indus/<int:recovery_id>/observations/",
        views.recovery_observations,
        name="recovery_observations",
    ),
    path("pieces/<int:pk>/telecharger/", views.document_download, name="document_download"),
]
