from django.db import migrations


class Migration(migrations.Migration):
    """Room on each page of the monthly store-item rollup for its rows' next versions.

    Every append, ingest and tick adds to the current month's row of each store-item it touches:
    one update per series for a day, tens of thousands. With full pages every update moves the row to
    another page and inserts into both of its indexes; with room left on the page PostgreSQL updates it
    in place (a HOT update, no index write), about twice as fast (README, Benchmarks). Applies to pages
    written from now on, so after the next full load (the rollups are rebuilt) or VACUUM FULL. The ORM
    has no storage parameters, hence SQL."""

    dependencies = [
        ("sales", "0005_sale_store_item_date_idx"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE sales_monthlystoreitemtotal SET (fillfactor = 70)",
            reverse_sql="ALTER TABLE sales_monthlystoreitemtotal RESET (fillfactor)",
        ),
    ]
