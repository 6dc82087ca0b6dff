from django.db import migrations, models


class Migration(migrations.Migration):
    """Every store and item had a number for its id: that number becomes its code."""

    dependencies = [
        ("sales", "0009_catalogue_codes_hierarchy"),
    ]

    operations = [
        migrations.RunSQL(
            "UPDATE sales_store SET code = id::text WHERE code IS NULL; "
            "UPDATE sales_item SET code = id::text WHERE code IS NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="item",
            name="code",
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.AlterField(
            model_name="store",
            name="code",
            field=models.CharField(max_length=64, unique=True),
        ),
    ]
