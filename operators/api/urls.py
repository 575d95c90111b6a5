from django.urls import re_path

from operators.api import views

# Every API path answers with or without its trailing slash (docs/spec/SPEC.md §6), POST included.
urlpatterns = [
    re_path(r"^auth/token/?$", views.AuthTokenView.as_view(), name="auth-token"),
    re_path(r"^operator/?$", views.OperatorProfileView.as_view(), name="operator-profile"),
    re_path(r"^operator/bank-details/?$", views.BankDetailsRequestView.as_view(), name="bank-details-request"),
    re_path(r"^operator/invitations/?$", views.InvitationListView.as_view(), name="invitation-list"),
    re_path(
        r"^operator/invitations/(?P<id>\d+)/revoke/?$", views.InvitationRevokeView.as_view(), name="invitation-revoke"
    ),
    re_path(r"^invitations/accept/?$", views.InvitationAcceptView.as_view(), name="invitation-accept"),
    re_path(r"^enrolments/?$", views.EnrolmentListView.as_view(), name="enrolment-list"),
    re_path(r"^enrolments/(?P<id>\d+)/?$", views.EnrolmentDetailView.as_view(), name="enrolment-detail"),
    re_path(r"^enrolments/(?P<id>\d+)/resubmit/?$", views.EnrolmentResubmitView.as_view(), name="enrolment-resubmit"),
    re_path(
        r"^enrolments/(?P<id>\d+)/documents/(?P<doc_id>\d+)/download/?$",
        views.EnrolmentDocumentDownloadView.as_view(),
        name="enrolment-document-download",
    ),
    re_path(r"^webhooks/?$", views.WebhookListView.as_view(), name="webhook-list"),
    re_path(r"^webhooks/(?P<id>\d+)/?$", views.WebhookDetailView.as_view(), name="webhook-detail"),
    re_path(r"^webhooks/(?P<id>\d+)/rotate-secret/?$", views.WebhookRotateSecretView.as_view(), name="webhook-rotate"),
    re_path(r"^webhooks/(?P<id>\d+)/deliveries/?$", views.WebhookDeliveryListView.as_view(), name="webhook-deliveries"),
]
