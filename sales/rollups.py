"""The rollups of sales_sale, in one place: which tables, what each one groups by, and the two
ways every write path keeps them in step (rebuilt after a full load; deltas added by an append,
an ingest or a live tick). Each rollup holds `sales` (units) and `rows` (how many sales_sale rows
it sums) for its key."""

from __future__ import annotations

from dataclasses import dataclass

MONTH = "date_trunc('month', date)::date"


@dataclass(frozen=True)
class Rollup:
    table: str
    keys: tuple[str, ...]  # its unique key columns
    exprs: tuple[str, ...]  # how each key is computed from (date, store_id, item_id)
    source: str  # the table it is rebuilt from (a finer rollup, or sales_sale)


# Finer first: each is rebuilt from the one it names (only three read sales_sale itself).
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
TABLES = tuple(rollup.table for rollup in ROLLUPS)


def rollups_rebuild(*, cursor) -> None:
    """Recompute every rollup from sales_sale (after a full load)."""
    cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
    for rollup in ROLLUPS:
        rows = "count(*)" if rollup.source == "sales_sale" else "sum(rows)"
        keys, exprs = ", ".join(rollup.keys), ", ".join(rollup.exprs)
        # Written in date order, as later days arrive: a day's deltas then update rows that sit side by
        # side (the monthly store-item rollup: one month of tens of thousands of series on a few hundred pages, not
        # one page per series), in place (fillfactor, and no indexed column changes).
        order = ", ".join(sorted(rollup.exprs, key=lambda expr: "date" not in expr))
        cursor.execute(
            f"INSERT INTO {rollup.table} ({keys}, sales, rows) "
            f"SELECT {exprs}, sum(sales), {rows} FROM {rollup.source} GROUP BY {exprs} ORDER BY {order}"
        )


def rollups_add(*, cursor, deltas: str, params: list | None = None) -> None:
    """Add `deltas` to every rollup: a relation (a table name or a parenthesised SELECT taking
    `params`) with columns date, store_id, item_id, sales (units added) and rows (1 for a
    sales_sale row that did not exist before, else 0). Costs what the deltas hold.

    In key order, so that a day for tens of thousands of series walks the rollup's unique index from one
    end to the other instead of hopping across it (a day's monthly store-item upsert then costs about a
    third less: README, Benchmarks)."""
    for rollup in ROLLUPS:
        keys, exprs = ", ".join(rollup.keys), ", ".join(rollup.exprs)
        cursor.execute(
            f"""
            INSERT INTO {rollup.table} AS t ({keys}, sales, rows)
            SELECT {exprs}, sum(sales), sum(rows) FROM {deltas} AS d GROUP BY {exprs} ORDER BY {exprs}
            ON CONFLICT ({keys}) DO UPDATE SET sales = t.sales + EXCLUDED.sales, rows = t.rows + EXCLUDED.rows
            """,
            params,
        )
