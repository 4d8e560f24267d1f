"""URL routes of the zkarena site."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from monitoring.views import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    # The OpenAPI document of the REST API (YAML, or JSON with ?format=json).
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Readable API documentation: Swagger UI from the site's own static files (no CDN); the
    # split view serves its start-up script as a file, so no inline script is needed.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    # Staff-only health of the verification workers (queue depth, workers).
    path("api/verifier/", include("verifier.urls")),
    path("api/", include("competitions.api.urls")),
    # Prometheus exposition for operators: staff or METRICS_ALLOWED_NETWORKS only.
    path("metrics", metrics_view, name="metrics"),
    path("", include("competitions.urls")),
]

# Under /api/ a refusal by Django itself (a malformed request, a missing route) or a crash
# answers in JSON too (with DEBUG off).
handler400 = "competitions.views.bad_request"
handler403 = "competitions.views.permission_denied"
handler404 = "competitions.views.page_not_found"
handler500 = "competitions.views.server_error"
