"""GET /api/sales/predictions: the forecast of one series with its model and backtest figures."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.params import MAX_ID
from forecasting import selectors


class PredictionParamsSerializer(serializers.Serializer):
    store = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    item = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    days = serializers.IntegerField(required=False, min_value=1, max_value=365)


@extend_schema(
    parameters=[
        OpenApiParameter("store", OpenApiTypes.INT, description="one store id; omit for all stores"),
        OpenApiParameter("item", OpenApiTypes.INT, description="one item id; omit for all items"),
        OpenApiParameter(
            "days", OpenApiTypes.INT, description="days of forecast (default and maximum: the run's horizon)"
        ),
    ],
    responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
)
class PredictionsView(APIView):
    """Recent actuals, the reconciled forecast with 80/95 % intervals (and live actuals for forecast
    days), the model and its backtest accuracy next to seasonal naive. Store and item select the
    level: neither = all sales, store = that store, item = that item, both = that store-item.
    `status`: "ready", or with no forecast for the series yet "running" (a refit will publish one)
    or "none", with a `message`. An unknown store or item is a 404."""

    def get(self, request: Request) -> Response:
        params = PredictionParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            detail = selectors.forecast_detail(
                store=params.validated_data.get("store"),
                item=params.validated_data.get("item"),
                days=params.validated_data.get("days"),
            )
        except LookupError as error:
            raise exceptions.NotFound(str(error)) from None
        except ValueError as error:
            raise exceptions.ValidationError({"days": [str(error)]}) from None
        return Response(detail)
