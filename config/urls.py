from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from core.views import SchemaView

# An unknown /api/ path (or a detail id the route does not take) answers a JSON 404 like the API's others.
handler404 = "core.views.not_found"

# Order matters: the more specific /api/sales/... routes of streaming and
# forecasting come before the sales router, whose detail route would match them.
urlpatterns = [
    path("admin/", admin.site.urls),
    # The API's description is public (it holds no sales figures); the API itself is not.
    path("api/schema/", SchemaView.as_view(permission_classes=[AllowAny]), name="schema"),
    # The split view: its script is a file of its own (?script), so the policy needs no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", permission_classes=[AllowAny], template_name="core/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("", include("streaming.urls")),
    path("", include("forecasting.urls")),
    path("", include("alerts.urls")),
    path("", include("uploads.urls")),
    path("", include("sales.urls")),
    path("", include("core.urls")),
    path("", include("frontend.urls")),
]
