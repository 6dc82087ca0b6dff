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
M5_STATES = {"CA": 2, "TX": 1}
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
WALMART_START = date(2010, 2, 5)  # a Friday
WALMART_HOLIDAYS = {date(2010, 2, 12), date(2010, 9, 10), date(2010, 11, 26), date(2010, 12, 31)}


@dataclass(frozen=True)
class LayoutSample:
    """The files written (sales file first) and the sales file's data rows."""

    files: list[Path]
    rows: int


def sample_layout_write(*, layout: str, folder: Path, days: int = 120, seed: int = 42) -> LayoutSample:
    """Write a small sample of `layout` (m5, favorita or walmart) into `folder`; `days` is the
    history's length (walmart: weeks = days // 7)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    if days < 14:
        raise ValueError("days must be at least 14")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    writer = {"m5": _m5_write, "favorita": _favorita_write, "walmart": _walmart_write}[layout]
    return writer(folder=folder, days=days, rng=rng)


def _m5_items() -> list[tuple[str, str, str]]:
    """(item_id, dept_id, cat_id) for a few items per department."""
    return [
        (f"{dept}_{n:03d}", dept, category)
        for category, departments in M5_DEPARTMENTS.items()
        for dept in departments
        for n in (1, 2, 90)
    ]


def _m5_write(*, folder: Path, days: int, rng: np.random.Generator) -> LayoutSample:
    stores = [(f"{state}_{n}", state) for state, count in M5_STATES.items() for n in range(1, count + 1)]
    sales = folder / "sales_train_evaluation.csv"
    rows = 0
    with sales.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["id", "item_id", "dept_id", "cat_id", "store_id", "state_id"] + [f"d_{d}" for d in range(1, days + 1)]
        )
        for store, state in stores:
            for item, dept, category in _m5_items():
                units = rng.poisson(rng.uniform(0.2, 4.0), days)
                launch = int(rng.integers(0, days // 2)) if rng.random() < 0.4 else 0
                units[:launch] = 0
                if rng.random() < 0.05:
                    units[:] = 0  # never sold in this window
                writer.writerow([f"{item}_{store}_evaluation", item, dept, category, store, state, *units.tolist()])
                rows += 1
    calendar = folder / "calendar.csv"
    with calendar.open("w", newline="") as out:
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
        for d in range(1, days + CALENDAR_AHEAD_DAYS + 1):
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
    return LayoutSample(files=[sales, calendar], rows=rows)


def _favorita_write(*, folder: Path, days: int, rng: np.random.Generator) -> LayoutSample:
    sales = folder / "train.csv"
    rows = 0
    sold = [item for item in FAVORITA_ITEMS if item[0] != "2113914"]
    promotions_from = days // 3  # the real file's onpromotion is blank before a date
    with sales.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "date", "store_nbr", "item_nbr", "unit_sales", "onpromotion"])
        for d in range(days):
            day = (FAVORITA_START + timedelta(days=d)).isoformat()
            for store, *_ in FAVORITA_STORES:
                for item, family, _class, _perishable in sold:
                    units = _favorita_units(rng=rng, by_weight=family == "PRODUCE")
                    if units is None:
                        continue
                    promotion = "" if d < promotions_from else ("True" if rng.random() < 0.1 else "False")
                    writer.writerow([rows, day, store, item, units, promotion])
                    rows += 1
    stores = folder / "stores.csv"
    with stores.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["store_nbr", "city", "state", "type", "cluster"])
        writer.writerows(FAVORITA_STORES)
    items = folder / "items.csv"
    with items.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["item_nbr", "family", "class", "perishable"])
        writer.writerows(FAVORITA_ITEMS)
    return LayoutSample(files=[sales, stores, items], rows=rows)


def _favorita_units(*, rng: np.random.Generator, by_weight: bool) -> str | None:
    """A day's units as the public file writes them: `7.0` by count, `2.474` by weight, `-2.0` a return;
    None for a day without sales (no row)."""
    if rng.random() < 0.25:
        return None
    if rng.random() < 0.02:
        return f"{-int(rng.integers(1, 4))}.0"
    if by_weight:
        return f"{rng.gamma(2.0, 1.5) + 0.001:.3f}"
    return f"{int(rng.integers(1, 12))}.0"


def _walmart_write(*, folder: Path, days: int, rng: np.random.Generator) -> LayoutSample:
    sales = folder / "train.csv"
    rows = 0
    with sales.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Store", "Dept", "Date", "Weekly_Sales", "IsHoliday"])
        for store in (1, 2, 3):
            for dept in (1, 2, 5, 72, 98):
                for week in range(days // 7):
                    day = WALMART_START + timedelta(weeks=week)
                    cents = int(rng.gamma(2.0, 800_000)) if rng.random() > 0.02 else -int(rng.integers(100, 60_000))
                    amount = f"{cents / 100:.2f}".rstrip("0").rstrip(".")
                    writer.writerow(
                        [store, dept, day.isoformat(), amount, "TRUE" if day in WALMART_HOLIDAYS else "FALSE"]
                    )
                    rows += 1
    return LayoutSample(files=[sales], rows=rows)
