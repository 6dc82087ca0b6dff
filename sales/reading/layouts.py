"""Which layout a sales file has, from its header (and, for the frequency, its first rows).

- `long`: one row per date, store and item, columns named by their roles (any order, any case),
  or named through a mapping of role to column.
- `m5`: one row per store and item, a column per day (`d_1`..`d_N`), dates from a calendar file.
- `favorita`: `id,date,store_nbr,item_nbr,unit_sales,onpromotion`.
- `walmart`: `Store,Dept,Date,Weekly_Sales,IsHoliday`, one row per week (weeks ending on a Friday).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sales.loading import LoadError, LoadProblem, _show

ROLES = ("date", "store", "item", "sales", "store_name", "item_name", "category", "department", "region", "unit")
REQUIRED_ROLES = ("date", "store", "item", "sales")
LAYOUTS = ("long", "m5", "favorita", "walmart")
MAX_HEADER_BYTES = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"
DAY_COLUMN = re.compile(r"d_(\d+)")
M5_COLUMNS = {
    "item_id": "item",
    "dept_id": "department",
    "cat_id": "category",
    "store_id": "store",
    "state_id": "region",
}
M5_EVENTS = ("event_name_1", "event_type_1", "event_name_2", "event_type_2")
# Header (lower case) -> role, for the public layouts recognised by name; extras are kept beside the roles.
KNOWN = {
    "favorita": ({"date": "date", "store_nbr": "store", "item_nbr": "item", "unit_sales": "sales"}, ("onpromotion",)),
    "walmart": ({"date": "date", "store": "store", "dept": "item", "weekly_sales": "sales"}, ("isholiday",)),
}
LAYOUT_TITLES = {
    "favorita": "Favorita's train.csv (id,date,store_nbr,item_nbr,unit_sales,onpromotion)",
    "walmart": "Walmart's weekly train.csv (Store,Dept,Date,Weekly_Sales,IsHoliday)",
    "m5": "M5's wide sales file (id,item_id,dept_id,cat_id,store_id,state_id,d_1..d_N)",
}
# Fewer distinct dates than this in the first rows: too few to call a file weekly.
WEEKLY_MIN_DATES = 3


@dataclass(frozen=True)
class Layout:
    """A sales file's layout. `roles` maps each role found to its source column (for `m5`, `date`
    is the calendar and `sales` the day columns); `frequency` is "D" or "W"; `extras` are source
    columns kept beside the roles (flags, calendar events); `header` is the file's header as read."""

    name: str
    roles: dict[str, str]
    frequency: str = "D"
    extras: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)


def header_parse(*, path: Path, raw: bytes, name: str) -> list[str]:
    """The names in a header line (BOM and line end removed). LoadError when it is not UTF-8 CSV text."""

    def fail(message: str, value: str | None = None) -> LoadError:
        return LoadError(path=path, problems=[LoadProblem(line=1, column=None, value=value, message=message)])

    raw = raw.removeprefix(UTF8_BOM)
    if not raw.strip():
        raise LoadError(path=path, problems=[LoadProblem(line=None, column=None, value=None, message="is empty")])
    if not raw.endswith(b"\n") and len(raw) >= MAX_HEADER_BYTES:
        raise fail(f"line 1 is longer than {MAX_HEADER_BYTES:,} bytes: this is not a CSV header")
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise fail(f"{name}: the header is not UTF-8 text (is this a CSV file?)", _show(raw)) from None
    if "\x00" in text or "\r" in text:
        raise fail("the header holds NUL bytes or a bare carriage return (is this a CSV file?)", _show(text))
    try:
        names = next(csv.reader([text]), [])
    except csv.Error as error:
        raise fail(f"the header is not a CSV line ({error})", _show(text)) from None
    return [n.strip() for n in names]


def columns_parse(text: str) -> dict[str, str]:
    """`date=Date,store=Store` -> {"date": "Date", "store": "Store"}. ValueError naming what is wrong."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, sep, column = part.partition("=")
        role = role.strip().lower()
        if not sep or not column.strip():
            raise ValueError(f"{part!r} is not ROLE=COLUMN")
        if role not in ROLES:
            raise ValueError(f"{role!r} is not a role (roles: {', '.join(ROLES)})")
        if role in mapping:
            raise ValueError(f"role {role!r} is given twice")
        mapping[role] = column.strip()
    return mapping


def layout_from_header(
    *, path: Path, header: list[str], columns: dict[str, str] | None, dates: list[str], has_calendar: bool
) -> Layout:
    """The layout of a file with this header; `dates` are the first rows' dates, for the frequency."""
    lower = [n.lower() for n in header]
    doubled = sorted({n for n in lower if n and lower.count(n) > 1})
    if columns:
        return _mapped(path=path, header=header, columns=columns, dates=dates)
    if set(M5_COLUMNS) <= set(lower) and any(DAY_COLUMN.fullmatch(n) for n in lower):
        return _m5(header=header, has_calendar=has_calendar)
    for name, (known, extras) in KNOWN.items():
        if set(known) <= set(lower):
            roles = {role: header[lower.index(column)] for column, role in known.items()}
            kept = [header[lower.index(e)] for e in extras if e in lower]
            frequency = "W" if name == "walmart" else _frequency(dates)
            return Layout(name=name, roles=roles, frequency=frequency, extras=kept, header=header)
    if doubled:
        raise _header_error(path, header, f"column(s) {', '.join(doubled)} appear more than once")
    if set(REQUIRED_ROLES) <= set(lower):
        mapping = {role: header[lower.index(role)] for role in ROLES if role in lower}
        return _long(header=header, roles=mapping, dates=dates)
    raise _header_error(path, header, _unrecognised(lower))


def _header_error(path: Path, header: list[str], message: str) -> LoadError:
    return LoadError(
        path=path, problems=[LoadProblem(line=1, column=None, value=_show(",".join(header), 80), message=message)]
    )


def _unrecognised(lower: list[str]) -> str:
    candidates = [
        ("the long layout", set(REQUIRED_ROLES)),
        (LAYOUT_TITLES["m5"], set(M5_COLUMNS)),
        *((LAYOUT_TITLES[name], set(known)) for name, (known, _) in KNOWN.items()),
    ]
    title, wanted = max(candidates, key=lambda c: len(c[1] & set(lower)) / len(c[1]))
    missing = sorted(wanted - set(lower))
    if len(wanted & set(lower)) * 2 >= len(wanted):
        return f"looks like {title} but lacks {', '.join(missing)}"
    return (
        "is not a layout this reader knows (date,store,item,sales; M5, Favorita or Walmart): name the columns, "
        "for example --columns date=Date,store=Store,item=Dept,sales=Weekly_Sales"
    )


def _mapped(*, path: Path, header: list[str], columns: dict[str, str], dates: list[str]) -> Layout:
    lower = {n.lower(): n for n in header}
    unknown = [role for role in columns if role not in ROLES]
    if unknown:
        raise _header_error(path, header, f"{', '.join(unknown)}: not a role (roles: {', '.join(ROLES)})")
    absent = [column for column in columns.values() if column.lower() not in lower]
    if absent:
        raise _header_error(path, header, f"the mapping names column(s) {', '.join(absent)} the header lacks")
    roles = {role: lower[column.lower()] for role, column in columns.items()}
    # Columns named after a role join the mapping unless the mapping gives that role (or that column) already.
    for role in ROLES:
        if role not in roles and role in lower and lower[role] not in roles.values():
            roles[role] = lower[role]
    missing = [role for role in REQUIRED_ROLES if role not in roles]
    if missing:
        raise _header_error(path, header, f"the mapping lacks role(s) {', '.join(missing)}")
    return _long(header=header, roles=roles, dates=dates)


def _long(*, header: list[str], roles: dict[str, str], dates: list[str]) -> Layout:
    ordered = {role: roles[role] for role in ROLES if role in roles}
    ignored = [n or "(blank)" for n in header if n not in ordered.values()]
    warnings = [f"ignoring column(s) {', '.join(ignored)}"] if ignored else []
    return Layout(name="long", roles=ordered, frequency=_frequency(dates), warnings=warnings, header=header)


def _m5(*, header: list[str], has_calendar: bool) -> Layout:
    lower = [n.lower() for n in header]
    roles = {role: header[lower.index(column)] for column, role in M5_COLUMNS.items()}
    days = [n for n in header if DAY_COLUMN.fullmatch(n.lower())]
    roles |= {"date": "calendar date of each d_N", "sales": f"{days[0]}..{days[-1]}"}
    ordered = {role: roles[role] for role in ROLES if role in roles}
    warnings = [] if has_calendar else ["M5's wide layout needs its calendar (--calendar calendar.csv)"]
    return Layout(name="m5", roles=ordered, extras=list(M5_EVENTS), warnings=warnings, header=header)


def _frequency(dates: list[str]) -> str:
    """W when the first rows' distinct dates (at least WEEKLY_MIN_DATES) all fall on one weekday."""
    seen = set()
    for text in dates:
        try:
            seen.add(date.fromisoformat(text))
        except ValueError:
            continue
    if len(seen) >= WEEKLY_MIN_DATES and len({d.weekday() for d in seen}) == 1:
        return "W"
    return "D"
