from django.urls import re_path

from funding.api import views

# Every API path answers with or without its trailing slash (docs/spec/SPEC.md §6), POST included.
urlpatterns = [
    re_path(r"^funding/simulate/?$", views.SimulateFundingView.as_view(), name="funding-simulate"),
    re_path(r"^schedules/?$", views.ScheduleListView.as_view(), name="schedule-list"),
    re_path(r"^campaigns/?$", views.CampaignListView.as_view(), name="campaign-list"),
    re_path(r"^campaigns/(?P<code>[-\w]+)/?$", views.CampaignDetailView.as_view(), name="campaign-detail"),
]
