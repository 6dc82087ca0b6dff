"""Small files in the layouts of the public retail datasets, with their headers and quirks, for the
tests and the README: `m5` (a wide file of day columns and its calendar with events; codes such as
`FOODS_3_090`; zeros before an item's launch), `favorita` (sold by weight or by count, returns as
negative units, no row for a day without sales, `onpromotion` blank in the early rows; its stores and
items files, the items file listing an item never sold) and `walmart` (weekly, weeks ending on a
Friday, dollars with cents, returns, IsHoliday)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

LAYOUTS = ("m5", "favorita", "walmart")
M5_STATES = ("CA", "TX", "WI")
M5_DEPARTMENTS = {"FOODS": ("FOODS_1", "FOODS_3"), "HOBBIES": ("HOBBIES_1",), "HOUSEHOLD": ("HOUSEHOLD_2",)}
M5_START = date(2011, 1, 29)
M5_EVENTS = {date(2011, 2, 6): ("SuperBowl", "Sporting"), date(2011, 2, 14): ("ValentinesDay", "Cultural")}
CALENDAR_AHEAD_DAYS = 28
FAVORITA_STORES = (
    ("1", "Quito", "Pichincha", "D", "13"),
    ("2", "Quito", "Pichincha", "D", "13"),
    ("24", "Guayaquil", "Guayas", "D", "1"),
)
FAVORITA_ITEMS = (
    ("96995", "GROCERY I", "1093", "0"),
    ("99197", "GROCERY I", "1067", "0"),
    ("103520", "BEVERAGES", "1120", "0"),
    ("105574", "PRODUCE", "2014", "1"),
    ("108079", "PRODUCE", "2014", "1"),
    ("2113914", "CLEANING", "3034", "0"),  # listed, never sold
)
FAVORITA_START = date(2013, 1, 1)
FAVORITA_NEVER_SOLD = "2113914"
FAVORITA_FAMILIES = (("GROCERY I", 1000, "0"), ("BEVERAGES", 1100, "0"), ("PRODUCE", 2000, "1"), ("DAIRY", 2100, "1"))
WALMART_START = date(2010, 2, 5)  # a Friday
WALMART_DEPARTMENTS = (
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
    26,
    27,
    28,
    29,
    30,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    38,
    40,
    41,
    42,
    44,
    45,
    46,
    47,
    48,
    49,
    50,
    51,
    52,
    54,
    55,
    56,
    58,
    59,
    60,
    65,
    67,
    71,
    72,
    74,
    77,
    78,
    79,
    80,
    81,
    82,
    83,
    85,
    87,
    90,
    91,
    92,
    93,
    94,
    95,
    96,
    97,
    98,
    99,
    39,
    43,
)
WALMART_HOLIDAYS = {date(2010, 2, 12), date(2010, 9, 10), date(2010, 11, 26), date(2010, 12, 31)}


@dataclass(frozen=True)
class LayoutSample:
    """The files written (sales file first) and the sales file's data rows."""

    files: list[Path]
    rows: int


def sample_layout_write(
    *,
    layout: str,
    folder: Path,
    days: int = 120,
    seed: int = 42,
    stores: int | None = None,
    items: int | None = None,
) -> LayoutSample:
    """Write a sample of `layout` (m5, favorita or walmart) into `folder`: `days` of history (walmart:
    days // 7 weeks), `stores` x `items` series (items are departments for walmart); small by default."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    if days < 14:
        raise ValueError("days must be at least 14")
    defaults = {"m5": (3, 12), "favorita": (3, 5), "walmart": (3, 5)}[layout]
    stores, items = stores or defaults[0], items or defaults[1]
    if layout == "walmart" and items > len(WALMART_DEPARTMENTS):
        raise ValueError(f"walmart has at most {len(WALMART_DEPARTMENTS)} departments a store")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    writer = {"m5": _m5_write, "favorita": _favorita_write, "walmart": _walmart_write}[layout]
    return writer(folder=folder, days=days, stores=stores, items=items, rng=rng)


def _m5_items(count: int) -> list[tuple[str, str, str]]:
    """(item_id, dept_id, cat_id), taken from the departments in turn."""
    departments = [(dept, category) for category, depts in M5_DEPARTMENTS.items() for dept in depts]
    found = []
    for n in range(count):
        dept, category = departments[n % len(departments)]
        number = n // len(departments) + 1
        found.append((f"{dept}_{90 if number == 3 else number:03d}", dept, category))
    return found


def _m5_write(*, folder: Path, days: int, stores: int, items: int, rng: np.random.Generator) -> LayoutSample:
    shops = [(f"{M5_STATES[n % 3]}_{n // 3 + 1}", M5_STATES[n % 3]) for n in range(stores)]
    sales = folder / "sales_train_evaluation.csv"
    rows = 0
    with sales.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["id", "item_id", "dept_id", "cat_id", "store_id", "state_id"] + [f"d_{d}" for d in range(1, days + 1)]
        )
        for store, state in shops:
            for item, dept, category in _m5_items(items):
                units = rng.poisson(rng.uniform(0.2, 4.0), days)
                launch = int(rng.integers(0, days // 2)) if rng.random() < 0.4 else 0
                units[:launch] = 0
                if rng.random() < 0.05:
                    units[:] = 0  # never sold in this window
                writer.writerow([f"{item}_{store}_evaluation", item, dept, category, store, state, *units.tolist()])
                rows += 1
    calendar = folder / "calendar.csv"
    _m5_calendar_write(path=calendar, days=days + CALENDAR_AHEAD_DAYS)
    return LayoutSample(files=[sales, calendar], rows=rows)


def _m5_calendar_write(*, path: Path, days: int) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "date",
                "wm_yr_wk",
                "weekday",
                "wday",
                "month",
                "year",
                "d",
                "event_name_1",
                "event_type_1",
                "event_name_2",
                "event_type_2",
                "snap_CA",
                "snap_TX",
                "snap_WI",
            ]
        )
        for d in range(1, days + 1):
            day = M5_START + timedelta(days=d - 1)
            event = M5_EVENTS.get(day, ("", ""))
            week = 11101 + (d - 1) // 7
            wday = (day.weekday() + 2) % 7 + 1  # M5 counts from Saturday (1)
            snap = int(day.day <= 10)
            writer.writerow(
                [
                    day.isoformat(),
                    week,
                    day.strftime("%A"),
                    wday,
                    day.month,
                    day.year,
                    f"d_{d}",
                    *event,
                    "",
                    "",
                    snap,
                    snap,
                    snap,
                ]
            )


def _favorita_catalogue(*, stores: int, items: int) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    shops: list[tuple[str, ...]] = list(FAVORITA_STORES[:stores])
    shops += [(str(30 + n), "Cuenca", "Azuay", "B", "6") for n in range(stores - len(shops))]
    goods: list[tuple[str, ...]] = list(FAVORITA_ITEMS[: min(items, len(FAVORITA_ITEMS) - 1)])
    for n in range(items - len(goods)):
        family, base, perishable = FAVORITA_FAMILIES[n % len(FAVORITA_FAMILIES)]
        goods.append((str(300_000 + n), family, str(base + n % 7), perishable))
    return shops, goods


def _favorita_write(*, folder: Path, days: int, stores: int, items: int, rng: np.random.Generator) -> LayoutSample:
    shops, goods = _favorita_catalogue(stores=stores, items=items)
    sales = folder / "train.csv"
    rows = 0
    promotions_from = days // 3  # the real file's onpromotion is blank before a date
    store_codes = np.repeat([s[0] for s in shops], len(goods))
    item_codes = np.tile([g[0] for g in goods], len(shops))
    by_weight = np.tile([g[3] == "1" for g in goods], len(shops))
    with sales.open("w", newline="") as out:
        out.write("id,date,store_nbr,item_nbr,unit_sales,onpromotion\n")
        for d in range(days):
            day = (FAVORITA_START + timedelta(days=d)).isoformat()
            units = _favorita_units(rng=rng, by_weight=by_weight)
            sold = units != ""
            promotion = np.where(rng.random(len(units)) < 0.1, "True", "False") if d >= promotions_from else None
            for k in np.flatnonzero(sold):
                flag = "" if promotion is None else promotion[k]
                out.write(f"{rows},{day},{store_codes[k]},{item_codes[k]},{units[k]},{flag}\n")
                rows += 1
    stores_file, items_file = folder / "stores.csv", folder / "items.csv"
    with stores_file.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["store_nbr", "city", "state", "type", "cluster"])
        writer.writerows(shops)
    with items_file.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["item_nbr", "family", "class", "perishable"])
        writer.writerows([*goods, (FAVORITA_NEVER_SOLD, "CLEANING", "3034", "0")])
    return LayoutSample(files=[sales, stores_file, items_file], rows=rows)


def _favorita_units(*, rng: np.random.Generator, by_weight: np.ndarray) -> np.ndarray:
    """A day's units as the public file writes them: `7.0` by count, `2.474` by weight, `-2.0` a
    return; "" for no sales (no row)."""
    size = len(by_weight)
    counted = np.char.add(rng.integers(1, 12, size).astype(str), ".0")
    weighed = np.char.mod("%.3f", rng.gamma(2.0, 1.5, size) + 0.001)
    returns = np.char.add(np.char.add("-", rng.integers(1, 4, size).astype(str)), ".0")
    units = np.where(by_weight, weighed, counted)
    units = np.where(rng.random(size) < 0.02, returns, units)
    return np.where(rng.random(size) < 0.25, "", units)


def _walmart_write(*, folder: Path, days: int, stores: int, items: int, rng: np.random.Generator) -> LayoutSample:
    sales = folder / "train.csv"
    weeks = [WALMART_START + timedelta(weeks=w) for w in range(days // 7)]
    labels = [w.isoformat() for w in weeks]
    holiday = ["TRUE" if w in WALMART_HOLIDAYS else "FALSE" for w in weeks]
    rows = 0
    with sales.open("w", newline="") as out:
        out.write("Store,Dept,Date,Weekly_Sales,IsHoliday\n")
        for store in range(1, stores + 1):
            for dept in WALMART_DEPARTMENTS[:items]:
                cents = rng.gamma(2.0, 800_000, len(weeks)).astype(np.int64)
                returns = rng.random(len(weeks)) < 0.02
                cents = np.where(returns, -rng.integers(100, 60_000, len(weeks)), cents)
                for k, amount in enumerate(cents.tolist()):
                    # Cents as the public file prints them: 24924.5, 46039.49, -498
                    text = f"{amount / 100:.2f}".rstrip("0").rstrip(".")
                    out.write(f"{store},{dept},{labels[k]},{text},{holiday[k]}\n")
                    rows += 1
    return LayoutSample(files=[sales], rows=rows)
