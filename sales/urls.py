"""Routes of the sales API. Every route answers with and without a trailing slash.

The specific /api/sales/<name> routes come before the row detail route, whose
id pattern is digits only, so new names under /api/sales/ never collide with it."""

from django.urls import re_path

from sales import api

urlpatterns = [
    re_path(r"^api/stores/?$", api.StoreViewSet.as_view({"get": "list"}), name="store-list"),
    re_path(
        r"^api/stores/(?P<code>[^/,]{1,64})/?$", api.StoreViewSet.as_view({"get": "retrieve"}), name="store-detail"
    ),
    re_path(r"^api/items/?$", api.ItemViewSet.as_view({"get": "list"}), name="item-list"),
    re_path(r"^api/items/(?P<code>[^/,]{1,64})/?$", api.ItemViewSet.as_view({"get": "retrieve"}), name="item-detail"),
    *(
        route
        for prefix, view, name in (
            ("regions", api.RegionViewSet, "region"),
            ("categories", api.CategoryViewSet, "category"),
            ("departments", api.DepartmentViewSet, "department"),
        )
        for route in (
            re_path(rf"^api/{prefix}/?$", view.as_view({"get": "list"}), name=f"{name}-list"),
            # Lazy, so that a code holding "/" (Favorita's BREAD/BAKERY) still leaves an optional trailing one.
            re_path(
                rf"^api/{prefix}/(?P<code>[^,]{{1,64}}?)/?$", view.as_view({"get": "retrieve"}), name=f"{name}-detail"
            ),
        )
    ),
    re_path(r"^api/sales/aggregated/?$", api.SalesAggregatedView.as_view(), name="sales-aggregated"),
    re_path(r"^api/sales/breakdown/?$", api.SalesBreakdownView.as_view(), name="sales-breakdown"),
    re_path(r"^api/sales/metrics/?$", api.SalesMetricsView.as_view(), name="sales-metrics"),
    re_path(r"^api/sales/?$", api.SaleViewSet.as_view({"get": "list"}), name="sale-list"),
    re_path(r"^api/sales/(?P<pk>[0-9]{1,18})/?$", api.SaleViewSet.as_view({"get": "retrieve"}), name="sale-detail"),
]
