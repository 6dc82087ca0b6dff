"""GET /api/sales/predictions: the forecast of one series with its model and backtest figures.

The selector returns records with full-precision values; the serializers here round them and
are the OpenAPI component of the answer."""

from __future__ import annotations

import math

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ERROR_RESPONSE
from core.params import CODE_SCHEMA, ParameterError, code_param
from forecasting import selectors
from forecasting.models import Level, SeriesKind
from sales.models import Item, Store
from sales.selectors import codes_resolve_each


class PredictionParamsSerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=settings.FORECAST_DAYS)


# ---------------------------------------------------------------- answer


class RoundedFloatField(serializers.FloatField):
    """A float rounded for display (2 decimals unless told); a non-finite value is null."""

    def __init__(self, *, digits: int = 2, **kwargs):
        self.digits = digits
        super().__init__(**kwargs)

    def to_representation(self, value):
        value = float(value)
        return round(value, self.digits) if math.isfinite(value) else None


class IsoDateTimeField(serializers.DateTimeField):
    """An aware datetime as Python writes it (offset kept, not turned into "Z" or another zone)."""

    def to_representation(self, value):
        return value.isoformat()


class UnitsField(serializers.FloatField):
    """Sales in the series' unit: a whole number as a JSON integer, any other to 3 decimals."""

    def to_representation(self, value):
        value = float(value)
        return int(value) if value.is_integer() else round(value, 3)


def _figure(**kwargs) -> RoundedFloatField:
    return RoundedFloatField(allow_null=True, **kwargs)


class SeriesSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=Level.values)
    store = serializers.CharField(allow_null=True, help_text="store code")
    item = serializers.CharField(allow_null=True, help_text="item code")


class ActualDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    sales = UnitsField()


class ForecastDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    yhat = RoundedFloatField(help_text="the published point: the median of the forecast distribution")
    mean = _figure(help_text="the mean of the forecast distribution (means add up across series)")
    lower_80 = RoundedFloatField()
    upper_80 = RoundedFloatField()
    lower_95 = RoundedFloatField()
    upper_95 = RoundedFloatField()
    actual = UnitsField(allow_null=True, help_text="sales so far; null for a day still to come")


class AccuracyFiguresSerializer(serializers.Serializer):
    smape = _figure()
    mae = _figure()
    coverage_80 = _figure()
    coverage_95 = _figure()
    naive_smape = _figure()
    naive_mae = _figure()
    naive_coverage_80 = _figure()
    naive_coverage_95 = _figure()


class SeriesAccuracySerializer(AccuracyFiguresSerializer):
    holdout_days = serializers.IntegerField()
    level = AccuracyFiguresSerializer(help_text="the same figures for the whole level")


class HolidayEffectSerializer(serializers.Serializer):
    date = serializers.CharField(
        allow_null=True,
        help_text="MM-DD for a fixed date learnt from the history; a country holiday's next day (YYYY-MM-DD)",
    )
    effect = RoundedFloatField(digits=3, help_text="multiplicative effect: 0.3 is +30 %, -1 a closure")
    name = serializers.CharField(required=False, help_text="the holiday's name (HOLIDAY_COUNTRY's holidays only)")

    def to_representation(self, instance):
        shaped = super().to_representation(instance)
        if shaped["name"] is None:
            del shaped["name"]  # a learnt fixed date: the answer stays {"date", "effect"} as before
        return shaped


class PublishedModelSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    order = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    seasonal_order = serializers.ListField(child=serializers.IntegerField())
    exogenous = serializers.ListField(child=serializers.CharField())
    training_start = serializers.DateField()
    training_end = serializers.DateField()
    fitted_at = IsoDateTimeField()
    fallback = serializers.BooleanField()
    fallback_reason = serializers.CharField(allow_null=True)
    fourier_k = serializers.IntegerField(allow_null=True)
    level = serializers.FloatField(allow_null=True)
    holidays = HolidayEffectSerializer(many=True)
    closures = serializers.ListField(child=serializers.CharField(), help_text="MM-DD days closed in every past year")
    candidates = serializers.DictField(child=_figure(), help_text="backtest SMAPE of each candidate on the level")


FREQUENCY_HELP = (
    "D: a point a day; W: a point a week (a weekly history), dated on the week's last day: its figures, "
    "intervals and actuals are the week's"
)


class RunSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    fitted_at = IsoDateTimeField()
    horizon_days = serializers.IntegerField()
    frequency = serializers.ChoiceField(choices=["D", "W"], help_text=FREQUENCY_HELP)


class ForecastReadySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ready"])
    series = SeriesSerializer()
    run = RunSummarySerializer()
    model = PublishedModelSerializer()
    model_reason = serializers.CharField(allow_null=True)
    point = serializers.ChoiceField(choices=["median"], help_text="which statistic yhat is")
    frequency = serializers.ChoiceField(choices=["D", "W"], help_text=FREQUENCY_HELP)
    kind = serializers.ChoiceField(
        choices=SeriesKind.values,
        help_text="the series' values: count (whole units, bounds >= 0), continuous (dollars, kilograms; "
        "bounds >= 0) or signed (net of returns: bounds may be negative)",
    )
    accuracy = SeriesAccuracySerializer()
    actuals = ActualDaySerializer(many=True)
    forecast = ForecastDaySerializer(many=True, help_text="from tomorrow")
    today = ForecastDaySerializer(
        allow_null=True,
        help_text="today's forecast for the whole day and its actual so far (null when the run does not cover today)",
    )


class ForecastPendingSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["running", "none"])
    message = serializers.CharField()
    series = SeriesSerializer()
    running_since = IsoDateTimeField(allow_null=True)
    actuals = ActualDaySerializer(many=True)
    forecast = ForecastDaySerializer(many=True)


PREDICTIONS_RESPONSE = PolymorphicProxySerializer(
    component_name="Predictions",
    serializers={
        "ready": ForecastReadySerializer,
        "running": ForecastPendingSerializer,
        "none": ForecastPendingSerializer,
    },
    resource_type_field_name="status",
)


# ---------------------------------------------------------------- view


def _codes_parse(request: Request) -> dict[str, str | None]:
    """store and item: one code each, through the one code parser every API uses (core.params)."""
    try:
        return {name: code_param(request.query_params, name) for name in ("store", "item")}
    except ParameterError as error:
        raise exceptions.ValidationError({error.parameter: [str(error)]}) from None


def _ids_resolve(codes: dict[str, str | None]) -> dict[str, int | None]:
    """The internal ids the forecasts are keyed by; a code that names nothing is a 404."""
    ids: dict[str, int | None] = {}
    for name, model in (("store", Store), ("item", Item)):
        code = codes[name]
        found = codes_resolve_each(model=model, codes=[code]) if code is not None else {}
        if code is not None and code not in found:
            raise exceptions.NotFound(f"unknown {name} {code}")
        ids[name] = found.get(code) if code is not None else None
    return ids


@extend_schema(
    parameters=[
        OpenApiParameter("store", CODE_SCHEMA, description="one store code; omit for all stores"),
        OpenApiParameter("item", CODE_SCHEMA, description="one item code; omit for all items"),
        OpenApiParameter(
            "days",
            {"type": "integer", "minimum": 1, "maximum": settings.FORECAST_DAYS},
            description="days of forecast, 1 to the horizon (FORECAST_DAYS; default: the run's horizon)",
        ),
    ],
    responses={200: PREDICTIONS_RESPONSE, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
)
class PredictionsView(APIView):
    """Recent actuals, the reconciled forecast with 80/95 % intervals (and live actuals for forecast
    days), the model and its backtest accuracy next to seasonal naive. Store and item select the
    level: neither = all sales, store = that store, item = that item, both = that store-item.
    `status`: "ready", or with no forecast for the series yet "running" (a refit will publish one)
    or "none", with a `message`. An unknown store or item is a 404."""

    def get(self, request: Request) -> Response:
        codes = _codes_parse(request)
        ids = _ids_resolve(codes)
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
        serializer = (
            ForecastPendingSerializer if isinstance(detail, selectors.ForecastPending) else ForecastReadySerializer
        )
        body = serializer(detail).data
        # The series as the request named it: codes, not the internal ids the forecasts are keyed by.
        body["series"] = {**body["series"], "store": codes["store"], "item": codes["item"]}
        return Response(body)
