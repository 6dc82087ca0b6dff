from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

# Order matters: the more specific /api/sales/... routes of streaming and
# forecasting come before the sales router, whose detail route would match them.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("streaming.urls")),
    path("", include("forecasting.urls")),
    path("", include("sales.urls")),
    path("", include("core.urls")),
    path("", include("frontend.urls")),
]
