"""A hook deleted between its read and its lock (a concurrent DELETE) is a 404, never a 500."""

import pytest

from operators import services
from operators.api import views
from operators.models import Webhook
from tests.factories import OperatorFactory, operator_user, token_client

pytestmark = pytest.mark.django_db


def test_a_hook_deleted_after_it_was_read_is_a_404_with_if_match(monkeypatch):
    operator = OperatorFactory(eligible=True)
    user = operator_user(operator)
    webhook, _ = services.webhook_create(operator=operator, url="https://hooks.example.fr/a", actor=user)
    stale = Webhook.objects.get(pk=webhook.pk)
    Webhook.objects.filter(pk=webhook.pk).delete()  # the other request's DELETE won
    monkeypatch.setattr(views, "_webhook", lambda request, id: stale)
    client = token_client(user)
    response = client.patch(f"/api/v1/webhooks/{webhook.pk}", {}, format="json", HTTP_IF_MATCH='"x"')
    assert response.status_code == 404 and response.json()["code"] == "not_found"
