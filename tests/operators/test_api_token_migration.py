"""DRF's authtoken tokens are carried over as hashed named tokens, and the clear-text table dropped."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection

from operators.auth import ExpiringTokenAuthentication

pytestmark = [pytest.mark.migrations, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BEFORE = [("operators", "0007_bank_details_and_fraud_flags")]
AFTER = [("operators", "0008_api_tokens")]
KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"


def test_existing_tokens_are_carried_over_hashed_and_the_old_table_dropped(migrate_to):
    old_apps = migrate_to(BEFORE)
    User = old_apps.get_model("auth", "User")

    user = User.objects.create(username="op-ancien", password=make_password("pw"))
    created = datetime.now(UTC) - timedelta(hours=1)
    stamp = "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created {stamp} NOT NULL, user_id integer)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [KEY, created, user.pk])

    new_apps = migrate_to(AFTER)
    token = new_apps.get_model("operators", "ApiToken").objects.get()
    assert (token.user_id, token.name) == (user.pk, "Jeton existant")
    assert token.expires_at == token.created_at + timedelta(hours=24)
    assert "authtoken_token" not in connection.introspection.table_names()
    # The running code accepts the carried-over key, under the password it was issued with.
    authenticated, _ = ExpiringTokenAuthentication().authenticate_credentials(KEY)
    assert authenticated.pk == user.pk
