from django.db import migrations, models


def kinds_from_sources(apps, schema_editor):
    SalesEvent = apps.get_model("streaming", "SalesEvent")
    SalesEvent.objects.filter(source="ingest").update(kind="ingested")


class Migration(migrations.Migration):
    dependencies = [
        ("streaming", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="salesevent",
            name="kind",
            field=models.CharField(
                choices=[("generated", "Generated"), ("catch-up", "Catch Up"), ("ingested", "Ingested")],
                default="generated",
                max_length=16,
            ),
        ),
        migrations.RunPython(kinds_from_sources, migrations.RunPython.noop),
    ]
