"""API tokens stored as digests. Keys of DRF's authtoken table (plain text) become digests, so that scripts
keep working, and that table is dropped: no key is left readable in the database or its dumps."""

import hashlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def legacy_tokens_hash(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("core", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    ApiToken.objects.bulk_create(
        ApiToken(digest=hashlib.sha256(key.encode()).hexdigest(), prefix=key[:8], user_id=user_id, created=created)
        for key, user_id, created in rows
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE authtoken_token")


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0002_editor_group'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(help_text='SHA-256 of the key, hex', max_length=64, unique=True)),
                ('prefix', models.CharField(help_text="the key's first characters, to tell tokens apart", max_length=8)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('expires', models.DateTimeField(blank=True, help_text='empty: never', null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'ordering': ['user_id', 'created'],
            },
        ),
        # One way: the plain keys are gone once hashed.
        migrations.RunPython(legacy_tokens_hash, migrations.RunPython.noop),
    ]
