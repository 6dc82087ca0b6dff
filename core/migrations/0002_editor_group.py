"""The `editor` group (core.access): reads as a viewer does, and also loads data and manages alerts."""

from django.db import migrations

EDITOR = "editor"


def group_create(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=EDITOR)


def group_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=EDITOR).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_access_groups")]

    operations = [migrations.RunPython(group_create, group_delete)]
