"""API tokens die with the password (any path that changes it) and with the account's deactivation;
several named tokens per user, only their hash stored; the docs/spec/SPEC.md §6 endpoint unchanged."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from common.exceptions import InvalidInput
from operators import services
from operators.auth import PASSWORD_CHANGED, token_digest
from operators.models import ApiToken
from tests.factories import OperatorFactory, UserFactory, api_key_for, operator_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Un-nouveau-mot-de-passe-2026"


@pytest.fixture
def user():
    return operator_user(OperatorFactory(eligible=True), username="op-jetons")


def api(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def answers(key):
    return api(key).get("/api/v1/operator").status_code


def assert_revoked_by_password_change(key):
    response = api(key).get("/api/v1/operator")
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    assert response.json()["detail"] == PASSWORD_CHANGED
    assert not ApiToken.objects.filter(digest=token_digest(key)).exists()  # and it is gone


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_token_works_until_the_password_is_changed_in_a_shell(user):
    key, other = api_key_for(user, "ERP"), api_key_for(user, "GED")
    assert answers(key) == 200 and answers(other) == 200
    user.set_password(NEW_PASSWORD)
    user.save()
    assert_revoked_by_password_change(key)
    assert_revoked_by_password_change(other)
    assert answers(api_key_for(user)) == 200  # a token issued under the new password works


def test_the_portal_password_change_revokes_tokens_and_other_sessions_but_keeps_this_one(user):
    key = api_key_for(user)
    here, elsewhere = signed_in(user), signed_in(user)
    response = here.post(
        reverse("portal:password_change"),
        {"old_password": "pw", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert_revoked_by_password_change(key)
    assert here.get(reverse("portal:api_tokens")).status_code == 200
    assert elsewhere.get(reverse("portal:api_tokens")).status_code == 302  # sent to the login page


def test_a_password_reset_by_e_mail_link_revokes_tokens_and_sessions(user):
    key = api_key_for(user)
    elsewhere = signed_in(user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    client = Client()
    url = client.get(reverse("portal:password_reset_confirm", args=[uid, default_token_generator.make_token(user)])).url
    response = client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response.url == reverse("portal:password_reset_complete")
    assert_revoked_by_password_change(key)
    assert elsewhere.get(reverse("portal:api_tokens")).status_code == 302


def test_an_agent_setting_the_password_in_the_admin_revokes_tokens(user):
    key = api_key_for(user)
    admin = signed_in(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = admin.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert_revoked_by_password_change(key)


def test_the_changepassword_command_revokes_tokens(user, monkeypatch):
    key = api_key_for(user)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", user.username, stdout=StringIO())
    assert_revoked_by_password_change(key)


def test_a_deactivated_account_s_tokens_are_refused_and_deleted(user):
    key = api_key_for(user)
    user.is_active = False
    user.save()
    assert answers(key) == 401
    assert not ApiToken.objects.filter(user=user).exists()
    user.is_active = True
    user.save()
    assert answers(key) == 401  # reactivating the account does not bring the token back


def test_an_expired_token_is_refused(user):
    key = api_key_for(user)
    ApiToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api(key).get("/api/v1/operator")
    assert (response.status_code, response.json()["code"]) == (401, "token_expired")


def test_only_a_hash_of_the_key_is_stored_and_last_use_is_recorded(user):
    token, key = services.api_token_issue(user=user, name="ERP")
    assert token.digest == token_digest(key) and key not in str(ApiToken.objects.values().get())
    assert token.last_used_at is None
    assert token.expires_at - token.created_at == timedelta(hours=24)
    assert answers(key) == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_token_endpoint_issues_a_new_token_each_time_and_delete_revokes_only_the_one_used(user):
    client = APIClient()
    first, second = (
        client.post("/api/v1/auth/token", {"username": user.username, "password": "pw"}, format="json").json()["token"]
        for _ in range(2)
    )
    assert first != second
    assert ApiToken.objects.filter(user=user, name=services.LOGIN_TOKEN_NAME).count() == 2
    assert api(first).delete("/api/v1/auth/token").status_code == 204
    assert answers(first) == 401
    assert answers(second) == 200


def test_delete_needs_the_token_itself_as_today(user):
    key = api_key_for(user)
    client = APIClient()
    client.force_login(user)
    assert client.delete("/api/v1/auth/token").status_code == 401  # the session is not accepted here
    assert answers(key) == 200


def test_live_tokens_are_capped_per_user(user, settings):
    settings.API_TOKENS_PER_USER = 2
    first, _second = api_key_for(user, "a"), api_key_for(user, "b")
    with pytest.raises(InvalidInput):
        services.api_token_issue(user=user, name="c")
    # The credentials endpoint always answers with a token: the oldest one makes room.
    response = APIClient().post("/api/v1/auth/token", {"username": user.username, "password": "pw"}, format="json")
    assert response.status_code == 200
    assert answers(first) == 401
    assert ApiToken.objects.filter(user=user).count() == 2


def test_another_users_token_is_never_anyone_elses(user):
    other = operator_user(OperatorFactory(eligible=True), username="op-autre")
    key = api_key_for(other)
    assert api(key).get("/api/v1/operator").json()["siren"] == other.membership.operator.siren
