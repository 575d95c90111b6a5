"""The operator's first member (validated enrolment) invites colleagues; the link creates an active member."""

import re

import pytest
from rest_framework.test import APIClient

from common.roles import operator_id_of
from operators import services
from operators.models import Invitation
from tests.factories import GOOD, agent, proofs, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    user = services.account_create(username="manager", email="manager@example.fr", password="Un-mot-de-passe-s0lide")
    enrolment = services.enrolment_submit(user=user, documents=proofs(), **GOOD)
    services.enrolment_validate(enrolment=enrolment, actor=agent())
    user.refresh_from_db()
    return user


def invite(client, email="colleague@example.fr"):
    return client.post("/api/v1/operator/invitations", {"email": email}, format="json")


def test_manager_invites_and_the_colleague_joins_through_the_emailed_token(
    manager, mailoutbox, django_capture_on_commit_callbacks
):
    client = token_client(manager)
    assert client.get("/api/v1/operator").json()["can_invite"] is True
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client)
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    message = mailoutbox[-1]
    assert message.to == ["colleague@example.fr"]
    token = re.search(r"/portail/invitation/([\w-]+)/", message.body).group(1)
    assert token not in str(Invitation.objects.values_list())  # only its hash is stored

    anonymous = APIClient()
    body = {"token": token, "username": "colleague", "password": "Un-autre-mot-de-passe-s0lide"}
    response = anonymous.post("/api/v1/invitations/accept", body, format="json")
    assert response.status_code == 201
    colleague = Invitation.objects.get().accepted_by
    assert operator_id_of(colleague) == operator_id_of(manager)
    # The colleague can work, but cannot invite; the token is single-use.
    assert token_client(colleague).get("/api/v1/claims").status_code == 200
    assert invite(token_client(colleague), "third@example.fr").status_code == 403
    again = anonymous.post("/api/v1/invitations/accept", {**body, "username": "again"}, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_invitation"


def test_revoked_or_expired_invitations_cannot_be_used(manager, django_capture_on_commit_callbacks, mailoutbox):
    client = token_client(manager)
    with django_capture_on_commit_callbacks(execute=True):
        invitation_id = invite(client).json()["id"]
    token = re.search(r"/portail/invitation/([\w-]+)/", mailoutbox[-1].body).group(1)
    assert client.post(f"/api/v1/operator/invitations/{invitation_id}/revoke").json()["status"] == "revoked"
    assert client.post(f"/api/v1/operator/invitations/{invitation_id}/revoke").status_code == 409
    response = APIClient().post(
        "/api/v1/invitations/accept",
        {"token": token, "username": "late", "password": "Un-autre-mot-de-passe-s0lide"},
        format="json",
    )
    assert response.status_code == 400


def test_invitation_to_an_existing_account_is_refused(manager):
    assert invite(token_client(manager), "manager@example.fr").status_code == 409
    assert invite(token_client(manager), "not-an-email").status_code == 400
