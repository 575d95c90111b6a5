"""Named API tokens replace DRF's one-token-per-user `authtoken` table.

Existing tokens are carried over (only the SHA-256 of each key is kept, with the fingerprint of the
owner's current password hash and their 24 h expiry counted from their creation), then the old
table, which held the keys in clear, is dropped. Going back does not restore it: clients request
a new token.
"""

import hashlib
from datetime import UTC, datetime, timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils.crypto import salted_hmac

# As common.auth at the time of this migration (frozen here).
FINGERPRINT_SALT = "common.auth.ApiToken.password_fingerprint"


def carry_over_authtoken_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("operators", "ApiToken")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, created, user_id FROM authtoken_token")
        rows = cursor.fetchall()
    passwords = dict(User.objects.filter(pk__in=[row[2] for row in rows]).values_list("pk", "password"))
    ttl = timedelta(hours=settings.API_TOKEN_TTL_HOURS)

    def aware(value):  # SQLite hands back naive UTC datetimes (or text) to a raw cursor
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    ApiToken.objects.bulk_create(
        ApiToken(
            user_id=user_id,
            name="Jeton existant",
            digest=hashlib.sha256(key.encode()).hexdigest(),
            password_fingerprint=salted_hmac(FINGERPRINT_SALT, passwords[user_id], algorithm="sha256").hexdigest(),
            created_at=aware(created),
            expires_at=aware(created) + ttl,
        )
        for key, created, user_id in rows
    )
    schema_editor.execute("DROP TABLE authtoken_token")
    schema_editor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):

    dependencies = [
        ('operators', '0007_bank_details_and_fraud_flags'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, verbose_name='nom')),
                ('digest', models.CharField(editable=False, max_length=64, unique=True, verbose_name='empreinte du jeton')),
                ('password_fingerprint', models.CharField(editable=False, max_length=64)),
                ('created_at', models.DateTimeField(verbose_name='créé le')),
                ('last_used_at', models.DateTimeField(blank=True, null=True, verbose_name='dernière utilisation')),
                ('expires_at', models.DateTimeField(verbose_name='expire le')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL, verbose_name='utilisateur')),
            ],
            options={
                'verbose_name': "jeton d'API",
                'verbose_name_plural': "jetons d'API",
                'indexes': [models.Index(fields=['user', 'created_at'], name='apitoken_user_created_idx')],
            },
        ),
        migrations.RunPython(carry_over_authtoken_tokens, migrations.RunPython.noop),
    ]
