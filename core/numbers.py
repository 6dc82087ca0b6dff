"""Exact decimals (PostgreSQL numeric: units to three decimals, their sums) as JSON numbers.

The database and the Python code that adds units up keep them as `Decimal`, so no sum drifts. An answer
gives them as JSON numbers, never strings: a whole one as an integer (`12`, as whole-number data always
read), any other as the float whose shortest form is the decimal itself (`2.474`; exact up to 15
significant digits, far past any sum of units to three decimals here)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder


def number_plain(value: Decimal | int | float) -> int | float:
    """`value` as a plain JSON-ready number: 12 for Decimal('12.000'), 2.474 for Decimal('2.474')."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a number JSON can hold")
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def number_text(value: Decimal) -> str:
    """A Decimal as CSV text without trailing zeros: '12' for 12.000, '2.5' for 2.500, never an exponent."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


class NumberJSONEncoder(JSONEncoder):
    """DRF's encoder, with a Decimal as a number (`number_plain`) rather than DRF's float (12.0)."""

    def default(self, obj: Any) -> Any:
        if isinstance(obj, Decimal):
            return number_plain(obj)
        return super().default(obj)


class NumberJSONRenderer(JSONRenderer):
    """The API's JSON: decimals as numbers (NumberJSONEncoder)."""

    encoder_class = NumberJSONEncoder


def json_dumps(data: Any) -> str:
    """Compact JSON with decimals as numbers (the stream's frames, the event log)."""
    return json.dumps(data, separators=(",", ":"), cls=NumberJSONEncoder)


@extend_schema_field({"type": "number", "description": "units: whole, or up to 3 decimals; negative for net returns"})
class UnitsField(serializers.Field):
    """Units in an answer (read only): a JSON number (`number_plain`), whole or with up to three decimals."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return number_plain(value)
