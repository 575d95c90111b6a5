from django.urls import re_path

from claims.api import events, views

# Every API path answers with or without its trailing slash (docs/spec/SPEC.md §6), POST included.
urlpatterns = [
    re_path(r"^claims/?$", views.ClaimListView.as_view(), name="claim-list"),
    re_path(r"^claims/(?P<id>\d+)/?$", views.ClaimDetailView.as_view(), name="claim-detail"),
    re_path(r"^claims/(?P<id>\d+)/submit/?$", views.ClaimSubmitView.as_view(), name="claim-submit"),
    re_path(r"^claims/(?P<id>\d+)/withdraw/?$", views.ClaimWithdrawView.as_view(), name="claim-withdraw"),
    re_path(r"^claims/(?P<id>\d+)/resubmit/?$", views.ClaimResubmitView.as_view(), name="claim-resubmit"),
    re_path(r"^claims/(?P<id>\d+)/documents/?$", views.DocumentListView.as_view(), name="claim-documents"),
    re_path(
        r"^claims/(?P<id>\d+)/documents/(?P<doc_id>\d+)/download/?$",
        views.DocumentDownloadView.as_view(),
        name="claim-document-download",
    ),
    re_path(r"^claims/(?P<id>\d+)/events/?$", views.ClaimEventListView.as_view(), name="claim-events"),
    re_path(r"^claims/(?P<id>\d+)/recoveries/?$", views.RecoveryListView.as_view(), name="claim-recoveries"),
    re_path(
        r"^claims/(?P<id>\d+)/recoveries/(?P<recovery_id>\d+)/observations/?$",
        views.RecoveryObservationsView.as_view(),
        name="claim-recovery-observations",
    ),
    re_path(r"^events/?$", events.EventFeedView.as_view(), name="event-feed"),
]
