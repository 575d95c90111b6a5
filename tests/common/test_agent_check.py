"""The one "is this an agent" check: group names read once per user object (one query per request)."""

import pytest

from common.roles import Role, is_agent, is_any_agent
from tests.factories import UserFactory, agent, validator

pytestmark = pytest.mark.django_db


def test_an_agents_groups_are_read_once_for_every_check_on_the_same_user(django_assert_num_queries):
    user = validator()
    with django_assert_num_queries(1):
        assert is_any_agent(user)
        assert is_agent(user, Role.VALIDATOR)
        assert not is_agent(user, Role.INSTRUCTOR)
        assert is_any_agent(user)


def test_superusers_hold_every_agent_role_and_operators_none_without_a_query(django_assert_num_queries):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    operator_side = UserFactory(username="op")
    with django_assert_num_queries(0):
        assert is_agent(superuser, Role.INSTRUCTOR) and is_agent(superuser, Role.VALIDATOR)
        assert not is_any_agent(operator_side)
        assert not is_any_agent(None)


def test_a_staff_account_outside_the_agent_groups_is_no_agent():
    staff = UserFactory(username="staff", is_staff=True)
    assert not is_any_agent(staff)
    assert is_any_agent(agent())
