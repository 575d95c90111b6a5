import pytest
from rest_framework.test import APIClient

from tests.factories import OperatorFactory, agent, api_key_for, operator_user, ready_advance


def token_client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client


@pytest.fixture
def owner():
    """A draft advance ready to submit, and an API client of its operator's user."""
    claim, user = ready_advance()
    return claim, token_client(user)


@pytest.fixture
def stranger():
    """An API client of another operator's user."""
    return token_client(operator_user(OperatorFactory(eligible=True), username="op-b"))


@pytest.fixture
def agent_client():
    return token_client(agent())
