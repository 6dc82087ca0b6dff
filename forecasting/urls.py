from django.urls import re_path

from forecasting import api

urlpatterns = [
    re_path(r"^api/sales/predictions/?$", api.PredictionsView.as_view(), name="sales-predictions"),
]
