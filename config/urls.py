from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from common import observability
from common import views as common_views
from operators.proconnect import ProConnectLogoutView

admin.site.site_header = "Financement Ségur MSSanté — instruction"
admin.site.site_title = "Financement Ségur MSSanté"
admin.site.index_title = "Instruction des dossiers"

api_v1 = [
    path("", include("funding.api.urls")),
    path("", include("operators.api.urls")),
    path("", include("claims.api.urls")),
]

urlpatterns = [
    # Browsers ask for /favicon.ico on every page that names none (the admin): the State's icon, not a 404.
    path("favicon.ico", common_views.favicon),
    path("healthz", common_views.healthz, name="healthz"),
    path("readyz", common_views.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    path("", RedirectView.as_view(pattern_name="portal:dashboard", permanent=False)),
    # Sign-out: a ProConnect session also ends at ProConnect; others go on to the usual view.
    path("portail/deconnexion/", ProConnectLogoutView.as_view(fallback=auth_views.LogoutView.as_view())),
    path(
        "admin/logout/",
        ProConnectLogoutView.as_view(purpose="admin", fallback=admin.site.admin_view(admin.site.logout)),
    ),
    path("portail/", include("portal.urls")),
    path("proconnect/", include("operators.proconnect_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    # Last: anything else under /api/ is a JSON 404.
    re_path(r"^api/", common_views.api_not_found),
]

# Errors raised outside DRF's views (oversize bodies, CSRF, unknown paths) answer JSON on /api/.
handler400 = "common.views.bad_request"
handler403 = "common.views.permission_denied"
handler404 = "common.views.page_not_found"
handler500 = "common.views.server_error"
