"""The project's URLConf plus views that fail on purpose (error pages under DEBUG=0)."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def boom(request):
    raise RuntimeError("boom")


def refused(request):
    raise PermissionDenied


def suspicious(request):
    raise SuspiciousOperation("bad")


urlpatterns = [
    path("boom/", boom),
    path("admin/boom/", boom),
    path("api/v1/boom/", boom),
    path("interdit/", refused),
    path("admin/interdit/", refused),
    path("suspect/", suspicious),
    *urlpatterns,
]
