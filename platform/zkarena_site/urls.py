"""URL routes of the zkarena site."""

from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    # The OpenAPI document of the REST API (YAML, or JSON with ?format=json).
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
]
