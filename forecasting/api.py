"""GET /api/sales/predictions: the forecast of one series with its model and backtest figures."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.params import ID_SCHEMA, ParameterError, id_param
from forecasting import selectors


class PredictionParamsSerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=settings.FORECAST_DAYS)


def _ids_parse(request: Request) -> dict[str, int | None]:
    """store and item through the one id parser every API uses (core.params)."""
    try:
        return {name: id_param(request.query_params, name) for name in ("store", "item")}
    except ParameterError as error:
        raise exceptions.ValidationError({error.parameter: [str(error)]}) from None


@extend_schema(
    parameters=[
        OpenApiParameter("store", ID_SCHEMA, description="one store id; omit for all stores"),
        OpenApiParameter("item", ID_SCHEMA, description="one item id; omit for all items"),
        OpenApiParameter(
            "days",
            {"type": "integer", "minimum": 1, "maximum": settings.FORECAST_DAYS},
            description="days of forecast, 1 to the horizon (FORECAST_DAYS; default: the run's horizon)",
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
        ids = _ids_parse(request)
        params = PredictionParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            detail = selectors.forecast_detail(
                store=ids["store"], item=ids["item"], days=params.validated_data.get("days")
            )
        except LookupError as error:
            raise exceptions.NotFound(str(error)) from None
        except ValueError as error:
            raise exceptions.ValidationError({"days": [str(error)]}) from None
        return Response(detail)
