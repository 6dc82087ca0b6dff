from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CONCURRENTLY: on a history of tens of millions of rows the build takes minutes, and a plain
    # CREATE INDEX would hold back every write (ticks, ingests) for that long.
    atomic = False

    dependencies = [
        ("sales", "0004_monthly_store_item"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="sale",
            index=models.Index(fields=["store", "item", "date"], include=("sales",), name="sale_store_item_date_idx"),
        ),
    ]
