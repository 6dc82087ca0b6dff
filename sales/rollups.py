"""The rollups of sales_sale, in one place: which tables, what each one groups by, and the two
ways every write path keeps them in step (rebuilt beside the old ones after a full load; deltas added by an append,
an ingest or a live tick). Each rollup holds `sales` (units) and `rows` (how many sales_sale rows
it sums) for its key.

The rollups by department read each row's item's department at the time of the write (a join of the
rows or deltas to sales_item); after items change department, `rollups_hierarchy_rebuild` recomputes
only those. Categories and regions need no rollup of their own: the readers reach them through the
department and the store (tables of a few hundred rows)."""

from __future__ import annotations

from dataclasses import dataclass

from sales import swap

MONTH = "date_trunc('month', date)::date"


@dataclass(frozen=True)
class Rollup:
    table: str
    keys: tuple[str, ...]  # its unique key columns
    exprs: tuple[str, ...]  # how each key is computed from (date, store_id, item_id[, department_id])
    source: str  # the table it is rebuilt from (a finer rollup, or sales_sale)
    # Its key holds the item's department: the rows it is computed from are joined to sales_item first.
    by_department: bool = False

    def relation(self, rows: str) -> str:
        """`rows` (a table, or a parenthesised SELECT) as this rollup reads it."""
        if not self.by_department:
            return rows
        # A LEFT JOIN: an item without a department still counts, under the null department.
        return f"(SELECT d.*, i.department_id FROM {rows} AS d LEFT JOIN sales_item AS i ON i.id = d.item_id)"


# Finer first: each is rebuilt from the one it names (only four read sales_sale itself).
ROLLUPS = (
    Rollup("sales_dailystoretotal", ("date", "store_id"), ("date", "store_id"), "sales_sale"),
    Rollup("sales_dailyitemtotal", ("date", "item_id"), ("date", "item_id"), "sales_sale"),
    Rollup("sales_dailytotal", ("date",), ("date",), "sales_dailystoretotal"),
    Rollup("sales_monthlystoretotal", ("month", "store_id"), (MONTH, "store_id"), "sales_dailystoretotal"),
    Rollup("sales_monthlyitemtotal", ("month", "item_id"), (MONTH, "item_id"), "sales_dailyitemtotal"),
    Rollup(
        "sales_monthlystoreitemtotal", ("store_id", "item_id", "month"), ("store_id", "item_id", MONTH), "sales_sale"
    ),
)
# Chosen by measurement (figures in the README, "Reading by region, category and department"):
# - store x department by day: a store or region selected with a department or category (Foods in Texas)
#   would otherwise sum every item of the category in every store of the region from sales_sale, through its
#   (item, date, store) index: items x stores x days rows, where this reads departments x stores x days
#   (some 17 times faster with a few hundred items a category, and the gap grows with the items);
# - department by day: by department without stores would otherwise sum the daily item rollup joined to the
#   items (items x days rows; about 9 times slower);
# - by month, both: whole months of a range, and a year or more by department or category, read about 30
#   times fewer rows (as the store and item rollups do): 4 to 50 times faster for a history by month.
# No rollup by region or by category: readers reach them through the store and department rollups and a
# join to a table of a few dozen rows, and moving a store or a department then needs no rebuild.
# The cost is the store x department daily table: stores x departments rows a day (a tenth of a day's sales
# rows with ten or more items a department). Store x department by day is the one that reads sales_sale;
# the three coarser ones are rebuilt from it.
HIERARCHY_ROLLUPS = (
    Rollup(
        "sales_dailystoredepartmenttotal",
        ("store_id", "department_id", "date"),
        ("store_id", "department_id", "date"),
        "sales_sale",
        by_department=True,
    ),
    Rollup(
        "sales_dailydepartmenttotal",
        ("department_id", "date"),
        ("department_id", "date"),
        "sales_dailystoredepartmenttotal",
        by_department=True,
    ),
    Rollup(
        "sales_monthlystoredepartmenttotal",
        ("store_id", "department_id", "month"),
        ("store_id", "department_id", MONTH),
        "sales_dailystoredepartmenttotal",
        by_department=True,
    ),
    Rollup(
        "sales_monthlydepartmenttotal",
        ("department_id", "month"),
        ("department_id", MONTH),
        "sales_dailydepartmenttotal",
        by_department=True,
    ),
)
ALL_ROLLUPS = (*ROLLUPS, *HIERARCHY_ROLLUPS)
TABLES = tuple(rollup.table for rollup in ALL_ROLLUPS)


def _build(*, cursor, rollups: tuple[Rollup, ...], sale_table: str = "sales_sale") -> list[swap.Shadow]:
    """Compute `rollups` from `sale_table` (sales_sale, or its shadow during a full load), each into a shadow
    of its table (sales.swap), indexed and ready for `swap.shadows_swap_in`. Readers keep the old ones."""
    built = {"sales_sale": sale_table}
    shadows = []
    for rollup in rollups:
        shadow = swap.shadow_create(cursor=cursor, table=rollup.table)
        rows = "count(*)" if rollup.source == "sales_sale" else "sum(rows)"
        keys, exprs = ", ".join(rollup.keys), ", ".join(rollup.exprs)
        # A rollup rebuilt from another that already holds the department reads it as it is.
        source = rollup.relation(sale_table) if rollup.source == "sales_sale" else built[rollup.source]
        # Written in date order, as later days arrive: a day's deltas then update rows that sit side by
        # side (the monthly store-item rollup: one month of tens of thousands of series on a few hundred pages, not
        # one page per series), in place (fillfactor, and no indexed column changes).
        order = ", ".join(sorted(rollup.exprs, key=lambda expr: "date" not in expr))
        cursor.execute(
            f"INSERT INTO {shadow.name} ({keys}, sales, rows) "
            f"SELECT {exprs}, sum(sales), {rows} FROM {source} AS d GROUP BY {exprs} ORDER BY {order}"
        )
        swap.shadow_index(cursor=cursor, shadow=shadow)
        built[rollup.table] = shadow.name
        shadows.append(shadow)
    return shadows


def rollups_build(*, cursor, sale_table: str = "sales_sale") -> list[swap.Shadow]:
    """Every rollup computed from `sale_table` into shadows, not yet swapped in (a full load swaps them in
    with sales_sale's own shadow)."""
    return _build(cursor=cursor, rollups=ALL_ROLLUPS, sale_table=sale_table)


def rollups_rebuild(*, cursor) -> None:
    """Recompute every rollup from sales_sale. Readers keep the old rollups until the transaction
    commits (sales.swap); writers wait."""
    swap.shadows_swap_in(cursor=cursor, shadows=rollups_build(cursor=cursor))


def rollups_hierarchy_rebuild(*, cursor) -> None:
    """Recompute only the rollups by department, after items changed department (or got one): one
    pass over sales_sale instead of the three of `rollups_rebuild`. Moving a department to another
    category, or a store to another region, needs nothing (those are read through joins). Readers keep
    the old ones until the transaction commits."""
    swap.shadows_swap_in(cursor=cursor, shadows=_build(cursor=cursor, rollups=HIERARCHY_ROLLUPS))


def rollups_add(*, cursor, deltas: str, params: list | None = None) -> None:
    """Add `deltas` to every rollup: a relation (a table name or a parenthesised SELECT taking
    `params`) with columns date, store_id, item_id, sales (units added) and rows (1 for a
    sales_sale row that did not exist before, else 0). Costs what the deltas hold.

    In key order, so that a day for tens of thousands of series walks the rollup's unique index from one
    end to the other instead of hopping across it (a day's monthly store-item upsert then costs about a
    third less: README, Benchmarks)."""
    for rollup in ALL_ROLLUPS:
        keys, exprs = ", ".join(rollup.keys), ", ".join(rollup.exprs)
        cursor.execute(
            f"""
            INSERT INTO {rollup.table} AS t ({keys}, sales, rows)
            SELECT {exprs}, sum(sales), sum(rows) FROM {rollup.relation(deltas)} AS d GROUP BY {exprs} ORDER BY {exprs}
            ON CONFLICT ({keys}) DO UPDATE SET sales = t.sales + EXCLUDED.sales, rows = t.rows + EXCLUDED.rows
            """,
            params,
        )
