"""Request parameter parsing shared by every API: ids, id lists (bounded, with a count
limit) and dates (bounded). A bad value raises an error naming the parameter, which becomes a
400 {"error": ..., "parameter": ...} (see core.api)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import django_filters
from django import forms
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

# PostgreSQL integer columns: ids above this cannot exist (and would overflow the query).
MAX_ID = 2**31 - 1
MAX_IDS_PER_FILTER = 1000
DATE_INPUT_FORMATS = ["%Y-%m-%d"]
# The days a date parameter may name. Wide enough for any retailer's history and any forecast; narrow
# enough that the date arithmetic behind an answer (a year back for year over year, the day after the
# end, whole months) stays inside Python's dates, and that a typo (year 20170, 0201) is refused naming
# the parameter rather than answered with an empty selection.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2199, 12, 31)


# Store and item codes: text as the files give it (`CA_1`, `FOODS_3_090`, `1`), without commas (the
# list separator), control characters or spaces at either end.
MAX_CODE_LENGTH = 64
CODE_PATTERN = "^[^,\\s\\x00-\\x1f\\x7f](?:[^,\\x00-\\x1f\\x7f]*[^,\\s\\x00-\\x1f\\x7f])?$"

# The OpenAPI schemas of what these parsers take: the schema says what the parser accepts.
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
ID_LIST_SCHEMA = {"type": "array", "items": ID_SCHEMA, "minItems": 1, "maxItems": MAX_IDS_PER_FILTER}
CODE_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_CODE_LENGTH, "pattern": CODE_PATTERN}
CODE_LIST_SCHEMA = {"type": "array", "items": CODE_SCHEMA, "minItems": 1, "maxItems": MAX_IDS_PER_FILTER}
# OpenAPI 3.0 has no bounds for a string's format; the x- keys carry them under the names of the JSON
# Schema vocabulary that has (ajv-formats' formatMinimum/formatMaximum), and the description says them.
DATE_SCHEMA = {
    "type": "string",
    "format": "date",
    "x-formatMinimum": DATE_MIN.isoformat(),
    "x-formatMaximum": DATE_MAX.isoformat(),
}
DATE_BOUNDS_TEXT = f"YYYY-MM-DD, from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}"


class ParameterError(ValueError):
    """A bad request parameter, for views that are not DRF views (DRF views raise ValidationError)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


EMPTY_PART = "an empty code: two commas in a row, or one at either end."


def id_list_split(values: Iterable[str]) -> list[str]:
    """The non-empty parts of `1,2` as well as of repeated `store=1&store=2` (and mixes of both)."""
    parts = [part.strip() for value in values for part in str(value).split(",")]
    return [part for part in parts if part]


def id_list_parse(parts: list[str]) -> tuple[int, ...]:
    """Sorted distinct ids from their text; ValueError naming the bad part."""
    if len(parts) > MAX_IDS_PER_FILTER:
        raise ValueError(f"at most {MAX_IDS_PER_FILTER} ids are accepted.")
    ids = set()
    for part in parts:
        if not part:
            raise ValueError(EMPTY_PART)
        if not part.isascii() or not part.isdigit() or not 1 <= int(part) <= MAX_ID:
            raise ValueError(f"{part[:40]!r} is not a positive whole number id.")
        ids.add(int(part))
    return tuple(sorted(ids))


def code_list_parse(parts: list[str]) -> tuple[str, ...]:
    """Sorted distinct codes from their text (already split on commas and stripped); ValueError naming
    the bad part."""
    if len(parts) > MAX_IDS_PER_FILTER:
        raise ValueError(f"at most {MAX_IDS_PER_FILTER} codes are accepted.")
    for part in parts:
        if not part:
            raise ValueError(EMPTY_PART)
        if len(part) > MAX_CODE_LENGTH:
            raise ValueError(f"{part[:40]!r}... is longer than {MAX_CODE_LENGTH} characters.")
        if any(ord(char) < 32 or ord(char) == 127 for char in part):
            raise ValueError(f"{part[:40]!r} contains a control character.")
    return tuple(sorted(set(parts)))


def code_list_param(query: QueryDict, name: str) -> tuple[str, ...]:
    """The codes of parameter `name` (empty when absent); ParameterError when bad."""
    try:
        return code_list_parse(id_list_split(query.getlist(name)))
    except ValueError as error:
        raise ParameterError(name, str(error)) from None


def code_param(query: QueryDict, name: str) -> str | None:
    """The one code of parameter `name` (None when absent); ParameterError when bad or several."""
    codes = code_list_param(query, name)
    if len(codes) > 1:
        raise ParameterError(name, f"{name} takes one code, got {len(codes)}.")
    return codes[0] if codes else None


def id_list_param(query: QueryDict, name: str) -> tuple[int, ...]:
    """The ids of parameter `name` (empty when absent); ParameterError when bad."""
    try:
        return id_list_parse(id_list_split(query.getlist(name)))
    except ValueError as error:
        raise ParameterError(name, str(error)) from None


# ---------------------------------------------------------------- django-filter


class IdListWidget(forms.TextInput):
    """Reads `store=1,2` as well as `store=1&store=2` (and mixes of both). Empty parts are kept, for the
    field to refuse: `store=,` or `store=1,,2` is not a list of codes (the schema says so), not "no filter"."""

    def value_from_datadict(self, data, files, name):
        if isinstance(data, MultiValueDict):
            values = data.getlist(name)
        else:
            value = data.get(name)
            values = [] if value is None else [value]
        return [part.strip() for value in values for part in str(value).split(",")] or None


class IdListField(forms.Field):
    widget = IdListWidget

    def to_python(self, value):
        if not value:
            return ()
        try:
            return id_list_parse(value)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None


class CodeListField(IdListField):
    def to_python(self, value):
        if not value:
            return ()
        try:
            return code_list_parse(value)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None


class CodeListFilter(django_filters.Filter):
    """Codes (`CA_1,CA_2` or repeated); the view resolves them to ids (sales.selectors.codes_resolve)."""

    field_class = CodeListField

    def filter(self, qs, value):
        return qs


class IdListFilter(django_filters.Filter):
    field_class = IdListField

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


def date_bounds_check(value: date) -> None:
    """ValueError unless DATE_MIN <= value <= DATE_MAX."""
    if not DATE_MIN <= value <= DATE_MAX:
        raise ValueError(f"{value.isoformat()} is outside {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}.")


class BoundedDateField(forms.DateField):
    """A YYYY-MM-DD date between DATE_MIN and DATE_MAX."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("input_formats", DATE_INPUT_FORMATS)
        super().__init__(*args, **kwargs)

    def validate(self, value):
        super().validate(value)
        if value is not None:
            try:
                date_bounds_check(value)
            except ValueError as error:
                raise forms.ValidationError(str(error)) from None


class BoundedDateFilter(django_filters.DateFilter):
    field_class = BoundedDateField


def empty_parameter_find(query: QueryDict) -> str | None:
    """The name of the first parameter given with an empty value (`date_to=`), or None: an empty value
    is refused rather than read as "not given", so that a client's bug shows."""
    for name in query:
        if any(value.strip() == "" for value in query.getlist(name)):
            return name
    return None


def id_param(query: QueryDict, name: str) -> int | None:
    """The one id of parameter `name` (None when absent); ParameterError when bad or several."""
    ids = id_list_param(query, name)
    if len(ids) > 1:
        raise ParameterError(name, f"{name} takes one id, got {len(ids)}.")
    return ids[0] if ids else None
