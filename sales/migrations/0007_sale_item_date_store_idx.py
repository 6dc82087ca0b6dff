from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # One index led by item, then date, in place of (item, date) and (store, item, date) INCLUDE (sales):
    # a day appended for every series then lands on one leaf page per item (its stores side by side)
    # instead of one per store-item. See Sale.Meta. CONCURRENTLY: minutes on tens of millions of rows, no
    # writes held.
    atomic = False

    dependencies = [
        ("sales", "0006_monthly_store_item_fillfactor"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="sale",
            index=models.Index(fields=["item", "date", "store"], include=("sales",), name="sale_item_date_store_idx"),
        ),
        RemoveIndexConcurrently(model_name="sale", name="sale_store_item_date_idx"),
        RemoveIndexConcurrently(model_name="sale", name="sale_item_date_idx"),
    ]
