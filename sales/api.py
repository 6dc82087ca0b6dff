"""DRF views, serializers and filters of the sales API.

Every bad query parameter becomes a 400 {"error": "...", "parameter": "<name>"}
through `core.api.api_exception_handler`; views raise DRF ValidationErrors keyed
by the parameter name and never build error responses themselves.
"""

from __future__ import annotations

import logging
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.http import StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ERROR_RESPONSE
from core.numbers import UnitsField
from core.paging import (
    CSV_RESPONSE,
    FORMAT_PARAMETER,
    MAX_TOKEN_LENGTH,
    CsvExportMixin,
    csv_response,
    keyset_token_make,
    keyset_token_read,
    next_link,
)
from core.params import (
    CODE_LIST_SCHEMA,
    CODE_SCHEMA,
    DATE_BOUNDS_TEXT,
    DATE_SCHEMA,
    MAX_ID,
    BoundedDateFilter,
    CodeListFilter,
    ParameterError,
    code_list_param,
)
from sales import selectors
from sales.models import Category, Department, Item, Region, Sale, Store

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- filters


class SalesFiltersForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_from", f"{date_from} is after date_to ({date_to}).")
        return cleaned


class CatalogueCodeFilter(CodeListFilter):
    """Store (item) codes, resolved to the internal ids the history is keyed by."""

    def __init__(self, *args, catalogue: type[Store] | type[Item], **kwargs):
        # Not `model`: django-filter sets that to the filterset's model.
        self.catalogue = catalogue
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": selectors.codes_resolve(model=self.catalogue, codes=value)})


class LevelCodeFilter(CodeListFilter):
    """Region (category, department) codes: the sales rows of the stores (items) under those nodes.
    `level` is also the parameter's name."""

    def __init__(self, *args, level: str, **kwargs):
        self.level = level
        super().__init__(*args, field_name="store_id" if level == "region" else "item_id", **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        members = selectors.level_members(level=self.level, ids=_level_ids(self.level, value))
        return qs.filter(**{f"{self.field_name}__in": members})


def _level_ids(level: str, codes) -> tuple[int, ...]:
    """The ids of a level's codes; a 400 naming the parameter (the level) for a code that names none."""
    try:
        return selectors.level_codes_resolve(level=level, codes=codes)
    except selectors.UnknownCodes as error:
        raise exceptions.ValidationError({level: [f"{error}."]}) from None


class SalesFilterSet(django_filters.FilterSet):
    """The filters shared by every sales endpoint."""

    store = CatalogueCodeFilter(
        field_name="store_id", catalogue=Store, help_text="One or several store codes: CA_1,CA_2 or store=1&store=2."
    )
    item = CatalogueCodeFilter(
        field_name="item_id", catalogue=Item, help_text="One or several item codes: FOODS_3_090 or item=1&item=2."
    )
    region = LevelCodeFilter(level="region", help_text="One or several region codes: CA,TX.")
    category = LevelCodeFilter(level="category", help_text="One or several category codes: FOODS,HOBBIES.")
    department = LevelCodeFilter(level="department", help_text="One or several department codes: FOODS_3.")
    date_from = BoundedDateFilter(field_name="date", lookup_expr="gte", help_text=f"First day, {DATE_BOUNDS_TEXT}.")
    date_to = BoundedDateFilter(field_name="date", lookup_expr="lte", help_text=f"Last day, {DATE_BOUNDS_TEXT}.")

    class Meta:
        model = Sale
        fields: list[str] = []
        form = SalesFiltersForm


# Each ordering and the columns that make it total (stable pages), each read in the order of an index
# (a descending one backwards, every column reversed), so that a page costs what it returns. Units
# have no index (one on the largest table would slow every load): ranking by units is the breakdown's.
SALE_ORDERINGS: dict[str, tuple[str, ...]] = {
    "date": ("date", "store_id", "item_id"),
    "-date": ("-date", "-store_id", "-item_id"),
    "store": ("store_id", "date", "item_id"),
    "-store": ("-store_id", "-date", "-item_id"),
    "item": ("item_id", "date", "store_id"),
    "-item": ("-item_id", "-date", "-store_id"),
}


class SaleOrderingFilter(django_filters.ChoiceFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [(key, key) for key in SALE_ORDERINGS])
        kwargs.setdefault("error_messages", {"invalid_choice": f"%(value)s is not one of {', '.join(SALE_ORDERINGS)}."})
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.order_by(*SALE_ORDERINGS[value])


class SaleFilterSet(SalesFilterSet):
    ordering = SaleOrderingFilter(help_text="Sort order (default date).")


def _filterset_validate(filterset: django_filters.FilterSet) -> None:
    """Raise a DRF ValidationError keyed by parameter name if the filters are bad.

    Not django_filters' translate_validation: it %-formats the messages again, and
    they quote user input (a '%' in a value would crash it)."""
    if not filterset.is_valid():
        raise exceptions.ValidationError({name: list(errors) for name, errors in filterset.errors.items()})


class SalesFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        _filterset_validate(filterset)
        return filterset.qs


def sales_filters_parse(query_params) -> selectors.SalesFilters:
    """Validate the shared filters of a request (400 naming the parameter if bad)."""
    filterset = SalesFilterSet(data=query_params, queryset=Sale.objects.none())
    _filterset_validate(filterset)
    data = filterset.form.cleaned_data
    return selectors.SalesFilters(
        stores=selectors.codes_resolve(model=Store, codes=data.get("store") or ()),
        items=selectors.codes_resolve(model=Item, codes=data.get("item") or ()),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        regions=_level_ids("region", data.get("region") or ()),
        categories=_level_ids("category", data.get("category") or ()),
        departments=_level_ids("department", data.get("department") or ()),
    )


# ---------------------------------------------------------------- OpenAPI parameters

FILTER_PARAMETERS = [
    OpenApiParameter(
        "store",
        CODE_LIST_SCHEMA,
        style="form",
        explode=False,
        description="Store code(s) as in the loaded file: `CA_1`, `1,2,3` (or repeated `store=1&store=2`). "
        "A code that names no store selects nothing.",
    ),
    OpenApiParameter(
        "item",
        CODE_LIST_SCHEMA,
        style="form",
        explode=False,
        description="Item code(s) as in the loaded file: `FOODS_3_090`, `1,2` (or repeated `item=1&item=2`). "
        "A code that names no item selects nothing.",
    ),
    *(
        OpenApiParameter(
            level,
            CODE_LIST_SCHEMA,
            style="form",
            explode=False,
            description=f"{level.capitalize()} code(s): `{example}` (or repeated). The sales of the {members} under "
            f"them; combined with the other filters by AND. A code that names no {level} is a 400.",
        )
        for level, example, members in (
            ("region", "CA,TX", "stores"),
            ("category", "FOODS,HOBBIES", "items"),
            ("department", "FOODS_3", "items"),
        )
    ),
    OpenApiParameter("date_from", DATE_SCHEMA, description=f"First day included, {DATE_BOUNDS_TEXT}."),
    OpenApiParameter(
        "date_to", DATE_SCHEMA, description=f"Last day included, {DATE_BOUNDS_TEXT}; not before date_from."
    ),
]


# ---------------------------------------------------------------- serializers


class StoreSerializer(serializers.ModelSerializer):
    code = serializers.CharField(help_text="the store's code, as the files and every filter give it")
    region: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )

    class Meta:
        model = Store
        fields = ["code", "name", "region", "attributes"]


class ItemSerializer(serializers.ModelSerializer):
    code = serializers.CharField(help_text="the item's code, as the files and every filter give it")
    department: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    category = serializers.CharField(source="department.category.code", read_only=True, allow_null=True, default=None)
    unit = serializers.CharField(
        source="unit_name", read_only=True, help_text="what its units are: its own, else SALES_DEFAULT_UNIT"
    )

    class Meta:
        model = Item
        fields = ["code", "name", "department", "category", "unit", "attributes"]


class RegionSerializer(serializers.ModelSerializer):
    code = serializers.CharField(help_text="the region's code, as the files and every filter give it")
    name = serializers.CharField(help_text="its display name; blank when the files give none (show the code)")

    class Meta:
        model = Region
        fields = ["code", "name"]


class CategorySerializer(serializers.ModelSerializer):
    code = serializers.CharField(help_text="the category's code (a comma in the file's text becomes '/')")
    name = serializers.CharField(help_text="its display name; blank when the files give none (show the code)")

    class Meta:
        model = Category
        fields = ["code", "name"]


class DepartmentSerializer(serializers.ModelSerializer):
    code = serializers.CharField(help_text="the department's code, as the files and every filter give it")
    name = serializers.CharField(help_text="its display name; blank when the files give none (show the code)")
    category: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="its category's code"
    )

    class Meta:
        model = Department
        fields = ["code", "name", "category"]


class SaleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    store = serializers.CharField(source="store.code", help_text="the store's code")
    item = serializers.CharField(source="item.code", help_text="the item's code")
    sales = UnitsField()
    generated = serializers.BooleanField(help_text="drawn by the demo's generator, not reported sales")


# Every figure answer says what its units are.
UNIT_FIELDS: dict[str, serializers.Field] = {
    "unit": serializers.CharField(
        allow_null=True,
        help_text="what the selection's units are (`units`, `kg`, `dollars`; SALES_DEFAULT_UNIT for items without "
        "one); null when its items are in different units, so that its totals add up unlike things",
    ),
    "units": serializers.ListField(child=serializers.CharField(), help_text="every unit of the selection's items"),
}

# The most rows one JSON page of an aggregated read holds (a few hundred kB); `next` has the rest.
MAX_AGGREGATED_PAGE = 10_000


class AggregatedParamsSerializer(serializers.Serializer):
    granularity = serializers.ChoiceField(choices=selectors.GRANULARITIES, default="day")
    group_by = serializers.ChoiceField(choices=selectors.GROUP_BYS, required=False, allow_blank=True)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_AGGREGATED_PAGE, default=MAX_AGGREGATED_PAGE)
    after = serializers.CharField(required=False, max_length=MAX_TOKEN_LENGTH)


def aggregated_after_read(token: str, *, group_by: str | None) -> selectors.AggregatedKey:
    """The page end an `after` token names (a 400 naming `after` if it is not one of ours)."""
    values = keyset_token_read(token)
    try:
        if len(values) != (2 if group_by else 1):
            raise ValueError("shape")
        period = forms.DateField().clean(values[0])
        key = values[1] if group_by else None
        # A level's unassigned group has key 0 (selectors.UNASSIGNED).
        lowest = selectors.UNASSIGNED if group_by in selectors.LEVELS else 1
        if group_by and (type(key) is not int or not lowest <= key <= MAX_ID):
            raise ValueError("key")
    except (ValueError, forms.ValidationError):
        raise exceptions.ValidationError(
            {"after": "must be the `after` token of a previous page's `next` link, with the same group_by."}
        ) from None
    return selectors.AggregatedKey(period=period, key=key)


# ---------------------------------------------------------------- views


class SearchParamsSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=100, trim_whitespace=True)


SEARCH_PARAMETER = OpenApiParameter(
    "search",
    {"type": "string", "minLength": 1},
    description="Only stores (items) whose code or name contains this text (any case).",
)


def _search_param(request: Request) -> str | None:
    params = SearchParamsSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data.get("search") or None


def _detail_schema(serializer, *, digits: int):
    """The detail route's schema: its id as the route takes it, and the JSON 404."""
    return extend_schema(
        parameters=[
            OpenApiParameter("id", {"type": "integer", "minimum": 1, "maximum": 10**digits - 1}, OpenApiParameter.PATH)
        ],
        responses={200: serializer, 404: ERROR_RESPONSE},
    )


def _code_detail_schema(serializer):
    """A store's (item's) route: its code, and the JSON 404."""
    return extend_schema(
        parameters=[OpenApiParameter("code", CODE_SCHEMA, OpenApiParameter.PATH)],
        responses={200: serializer, 404: ERROR_RESPONSE},
    )


def _codes_param(request: Request, name: str) -> tuple[str, ...]:
    try:
        return code_list_param(request.query_params, name)
    except ParameterError as error:
        raise exceptions.ValidationError({name: str(error)}) from None


def _level_parameter(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        CODE_LIST_SCHEMA,
        style="form",
        explode=False,
        description=f"Only {what} under these {name} code(s): `A,B` or repeated `{name}=A&{name}=B`. "
        f"A code that names no {name} selects nothing.",
    )


def _list_schema(serializer, *parameters: OpenApiParameter):
    return extend_schema(
        parameters=[SEARCH_PARAMETER, *parameters], responses={200: serializer(many=True), 400: ERROR_RESPONSE}
    )


class CatalogueViewSet(viewsets.ReadOnlyModelViewSet):
    """A catalogue list (stores, items, regions, categories, departments), paged (page / page_size, or the
    `after` token), found by code; `search` and the `code_filters` narrow the list."""

    lookup_field = "code"
    filter_backends: list = []
    list_selector: Any = None
    # Query parameter -> the list selector's keyword taking its codes.
    code_filters: dict[str, str] = {}

    def get_queryset(self):
        selector = type(self).list_selector
        if self.action != "list":
            return selector()
        codes = {keyword: _codes_param(self.request, name) for name, keyword in self.code_filters.items()}
        return selector(search=_search_param(self.request), **codes)

    def get_object(self):
        try:
            return self.get_queryset().get(code=self.kwargs["code"])
        except ObjectDoesNotExist:
            word = self.get_queryset().model._meta.verbose_name
            raise exceptions.NotFound(f"no {word} with code {self.kwargs['code']!r}") from None


@extend_schema(tags=["sales"])
@extend_schema_view(
    list=_list_schema(StoreSerializer, _level_parameter("region", "stores")),
    retrieve=_code_detail_schema(StoreSerializer),
)
class StoreViewSet(CatalogueViewSet):
    """Stores in id order, paged; `search` finds them by code or name, `region` keeps a region's."""

    serializer_class = StoreSerializer
    list_selector = staticmethod(selectors.store_list)
    code_filters = {"region": "regions"}


@extend_schema(tags=["sales"])
@extend_schema_view(
    list=_list_schema(ItemSerializer, _level_parameter("category", "items"), _level_parameter("department", "items")),
    retrieve=_code_detail_schema(ItemSerializer),
)
class ItemViewSet(CatalogueViewSet):
    """Items in id order, paged; `search` finds them by code or name, `category` and `department` keep
    those under them (both given: under both)."""

    serializer_class = ItemSerializer
    list_selector = staticmethod(selectors.item_list)
    code_filters = {"category": "categories", "department": "departments"}


@extend_schema(tags=["sales"])
@extend_schema_view(list=_list_schema(RegionSerializer), retrieve=_code_detail_schema(RegionSerializer))
class RegionViewSet(CatalogueViewSet):
    """Regions (groups of stores) in code order, paged; `search` finds them by code or name."""

    serializer_class = RegionSerializer
    list_selector = staticmethod(selectors.region_list)


@extend_schema(tags=["sales"])
@extend_schema_view(list=_list_schema(CategorySerializer), retrieve=_code_detail_schema(CategorySerializer))
class CategoryViewSet(CatalogueViewSet):
    """Categories (the top of the item hierarchy) in code order, paged; `search` finds them by code or name."""

    serializer_class = CategorySerializer
    list_selector = staticmethod(selectors.category_list)


@extend_schema(tags=["sales"])
@extend_schema_view(
    list=_list_schema(DepartmentSerializer, _level_parameter("category", "departments")),
    retrieve=_code_detail_schema(DepartmentSerializer),
)
class DepartmentViewSet(CatalogueViewSet):
    """Departments in code order, paged; `search` finds them by code or name, `category` keeps a category's."""

    serializer_class = DepartmentSerializer
    list_selector = staticmethod(selectors.department_list)
    code_filters = {"category": "categories"}


@extend_schema(tags=["sales"])
@extend_schema_view(retrieve=_detail_schema(SaleSerializer, digits=18))
class SaleViewSet(viewsets.ReadOnlyModelViewSet):
    """Daily sales rows at (date, store, item) grain."""

    serializer_class = SaleSerializer
    filter_backends = [SalesFilterBackend]
    filterset_class = SaleFilterSet
    queryset = Sale.objects.none()  # for schema introspection; get_queryset is what runs

    def get_queryset(self):
        # The page's rows bring their store's and item's codes along (a join on a page, not on the table).
        return selectors.sale_list().select_related("store", "item")

    def row_count(self) -> int:
        """The list's row count for the pagination, from the rollups (no COUNT(*) of the table)."""
        return selectors.sale_count(filters=sales_filters_parse(self.request.query_params))

    @extend_schema(
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter(
                "ordering",
                OpenApiTypes.STR,
                enum=list(SALE_ORDERINGS),
                description="Sort order, each served from an index; ties are broken so pages are stable (a "
                "descending order reverses the tie-breaks too). Default: date, store, item.",
            ),
        ],
        responses={200: SaleSerializer(many=True), 400: ERROR_RESPONSE},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


def _period_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["period"] = row["period"].isoformat()
        row.pop(selectors.AGGREGATED_KEY, None)
    return rows


@extend_schema(
    tags=["sales"],
    parameters=[
        *FILTER_PARAMETERS,
        OpenApiParameter(
            "granularity",
            OpenApiTypes.STR,
            enum=list(selectors.GRANULARITIES),
            default="day",
            description="Period length: the day, the ISO week (period = its Monday) or the month (period = its 1st).",
        ),
        OpenApiParameter(
            "group_by",
            OpenApiTypes.STR,
            enum=list(selectors.GROUP_BYS),
            description="Split each period's total by store, item, region, category or department (rows name it "
            "by code; by a level, the units outside the hierarchy form a group whose code is null). Omit for one "
            "total per period.",
        ),
        OpenApiParameter(
            "page_size",
            {"type": "integer", "minimum": 1, "maximum": MAX_AGGREGATED_PAGE, "default": MAX_AGGREGATED_PAGE},
            description=f"Rows per page, 1 to {MAX_AGGREGATED_PAGE}; `next` links to the rest.",
        ),
        OpenApiParameter(
            "after",
            {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_LENGTH},
            description="The token in the previous page's `next` link (same filters, granularity and group_by).",
        ),
        FORMAT_PARAMETER,
    ],
    responses={
        (200, "application/json"): inline_serializer(
            "SalesAggregated",
            fields={
                "granularity": serializers.CharField(),
                "group_by": serializers.CharField(allow_null=True),
                **UNIT_FIELDS,
                "next": serializers.URLField(allow_null=True, help_text="the next page, null on the last one"),
                "results": inline_serializer(
                    "SalesAggregatedRow",
                    fields={
                        "period": serializers.DateField(),
                        "store": serializers.CharField(required=False, help_text="store code"),
                        "item": serializers.CharField(required=False, help_text="item code"),
                        **{
                            level: serializers.CharField(
                                required=False, allow_null=True, help_text=f"{level} code, null: unassigned"
                            )
                            for level in selectors.LEVELS
                        },
                        "sales": UnitsField(),
                    },
                    many=True,
                ),
            },
        ),
        (200, "text/csv"): CSV_RESPONSE,
        (400, "application/json"): ERROR_RESPONSE,
    },
)
class SalesAggregatedView(CsvExportMixin, APIView):
    """Total units per day, week or month, optionally split by store or item: a page of rows in
    (period, store or item) order with a `next` link, or every row as CSV (`?format=csv`)."""

    def get(self, request: Request) -> Response | StreamingHttpResponse:
        filters = sales_filters_parse(request.query_params)
        params = AggregatedParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        granularity = params.validated_data["granularity"]
        group_by = params.validated_data.get("group_by") or None
        if self.wants_csv():
            every = selectors.sales_aggregated_stream(filters=filters, granularity=granularity, group_by=group_by)
            header = ["period", *([group_by] if group_by else []), "sales"]
            return csv_response(filename=f"sales-{granularity}.csv", header=header, rows=every)
        token = params.validated_data.get("after")
        after = aggregated_after_read(token, group_by=group_by) if token else None
        size = params.validated_data["page_size"]
        rows = selectors.sales_aggregated(
            filters=filters, granularity=granularity, group_by=group_by, after=after, limit=size + 1
        )
        following = None
        if len(rows) > size:
            rows = rows[:size]
            last = rows[-1]
            following = next_link(
                request,
                after=keyset_token_make([last["period"], *([last[selectors.AGGREGATED_KEY]] if group_by else [])]),
            )
        return Response(
            {
                "granularity": granularity,
                "group_by": group_by,
                **selectors.selection_unit(filters=filters),
                "next": following,
                "results": _period_rows(rows),
            }
        )


_WINDOW: dict[str, serializers.Field] = {
    "sales": UnitsField(),
    "previous": UnitsField(allow_null=True),
    "growth_pct": serializers.FloatField(allow_null=True),
    "days": serializers.IntegerField(help_text="the window's length: 7, 30, 365 days; a weekly history's 7, 28, 364"),
}


@extend_schema(
    tags=["sales"],
    parameters=FILTER_PARAMETERS,
    responses={
        200: inline_serializer(
            "SalesMetrics",
            fields={
                "frequency": serializers.ChoiceField(
                    choices=["D", "W"],
                    help_text="the history's: W when every date with sales falls on one weekday (one row a week)",
                ),
                **UNIT_FIELDS,
                "date_from": serializers.DateField(allow_null=True),
                "date_to": serializers.DateField(allow_null=True),
                "days": serializers.IntegerField(),
                "weeks": serializers.IntegerField(allow_null=True, help_text="weekly history only: weeks in the range"),
                "total_sales": UnitsField(),
                "average_per_day": serializers.FloatField(allow_null=True),
                "average_per_week": serializers.FloatField(
                    allow_null=True, help_text="weekly history only: total_sales / weeks"
                ),
                "windows_end": serializers.DateField(
                    allow_null=True, help_text="last day of the 7/30/365-day windows: complete days only"
                ),
                "last_7_days": inline_serializer("MetricsWindow7", fields=_WINDOW),
                "last_30_days": inline_serializer("MetricsWindow30", fields=_WINDOW),
                "year_over_year": inline_serializer("MetricsWindow365", fields=_WINDOW),
                "best_day": inline_serializer(
                    "MetricsBestDay",
                    help_text="a weekly history's best week (dated on its last day)",
                    fields={"date": serializers.DateField(), "sales": UnitsField()},
                    allow_null=True,
                ),
                "top_stores": serializers.ListField(child=serializers.DictField()),
                "top_items": serializers.ListField(child=serializers.DictField()),
                "counts": serializers.DictField(child=serializers.IntegerField()),
                "today": serializers.DictField(),
            },
        ),
        400: ERROR_RESPONSE,
    },
)
class SalesMetricsView(APIView):
    """KPIs of the selection: totals, growth over 7/30/365 days, best day, top 5 stores and items, today."""

    def get(self, request: Request) -> Response:
        filters = sales_filters_parse(request.query_params)
        return Response(selectors.sales_metrics(filters=filters))


# ---------------------------------------------------------------- breakdown

MAX_BREAKDOWN_TOP = 1000


class BreakdownParamsSerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=selectors.GROUP_BYS, default="store")
    top = serializers.IntegerField(min_value=1, max_value=MAX_BREAKDOWN_TOP, default=10)
    order = serializers.ChoiceField(choices=selectors.BREAKDOWN_ORDERS, default="desc")
    offset = serializers.IntegerField(min_value=0, max_value=MAX_ID, default=0)


class BreakdownRowSerializer(serializers.Serializer):
    id = serializers.CharField(
        allow_null=True, help_text="the store's (item's, region's...) code; null for the unassigned group"
    )
    name = serializers.CharField()
    sales = UnitsField()
    share = serializers.FloatField(allow_null=True, help_text="of `total`, 0 to 1; null when total is 0")


class BreakdownOtherSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="stores (items) of the selection not in `rows`")
    sales = UnitsField(help_text="their units: total minus the sum of `rows`")


class BreakdownSerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=selectors.GROUP_BYS)
    order = serializers.ChoiceField(choices=selectors.BREAKDOWN_ORDERS)
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    total = UnitsField()
    unit = UNIT_FIELDS["unit"]
    units = UNIT_FIELDS["units"]
    count = serializers.IntegerField(help_text="stores (items) in the selection, with or without sales")
    offset = serializers.IntegerField()
    next = serializers.URLField(allow_null=True, help_text="the next ranks (offset + top), null after the last")
    rows = BreakdownRowSerializer(many=True)
    other = BreakdownOtherSerializer()


@extend_schema(
    tags=["sales"],
    parameters=[
        *FILTER_PARAMETERS,
        OpenApiParameter(
            "by",
            OpenApiTypes.STR,
            enum=list(selectors.GROUP_BYS),
            default="store",
            description="Rank stores, items, regions, categories or departments. By a level, the units outside "
            "the hierarchy are ranked as one row whose id is null.",
        ),
        OpenApiParameter("top", OpenApiTypes.INT, default=10, description=f"Rows to return, 1 to {MAX_BREAKDOWN_TOP}."),
        OpenApiParameter(
            "order",
            OpenApiTypes.STR,
            enum=list(selectors.BREAKDOWN_ORDERS),
            default="desc",
            description="desc: best sellers first; asc: worst first. Ties by id.",
        ),
        OpenApiParameter("offset", OpenApiTypes.INT, default=0, description="Skip this many ranks (the next page)."),
        FORMAT_PARAMETER,
    ],
    responses={
        (200, "application/json"): BreakdownSerializer,
        (200, "text/csv"): CSV_RESPONSE,
        (400, "application/json"): ERROR_RESPONSE,
    },
)
class SalesBreakdownView(CsvExportMixin, APIView):
    """Stores or items ranked by units sold: the top (or bottom) N, and the rest summed as "other";
    `next` links to the following ranks. `?format=csv`: every rank, as CSV."""

    def get(self, request: Request) -> Response:
        filters = sales_filters_parse(request.query_params)
        params = BreakdownParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        if self.wants_csv():
            return _breakdown_csv(filters=filters, by=params.validated_data["by"], order=params.validated_data["order"])
        breakdown = selectors.sales_breakdown(filters=filters, **params.validated_data)
        end = params.validated_data["offset"] + params.validated_data["top"]
        body = {
            "by": breakdown.by,
            "order": breakdown.order,
            "date_from": filters.date_from,
            "date_to": filters.date_to,
            "total": breakdown.total,
            **selectors.selection_unit(filters=filters),
            "count": breakdown.count,
            "offset": params.validated_data["offset"],
            "next": next_link(request, offset=end) if end < breakdown.count else None,
            "rows": breakdown.rows,
            "other": {"count": breakdown.other_count, "sales": breakdown.other_sales},
        }
        return Response(BreakdownSerializer(body).data)


def _breakdown_csv(*, filters: selectors.SalesFilters, by: selectors.GroupBy, order: selectors.BreakdownOrder):
    # Every rank: at most one row per store (item), which the ranking holds in memory anyway.
    breakdown = selectors.sales_breakdown(filters=filters, by=by, top=MAX_ID, order=order, offset=0)
    rows = ((rank, row.id, row.name, row.sales, row.share) for rank, row in enumerate(breakdown.rows, 1))
    return csv_response(filename=f"breakdown-{by}.csv", header=["rank", by, "name", "sales", "share"], rows=rows)
