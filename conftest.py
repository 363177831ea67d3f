"""Shared fixtures: one user per role in a small team tree, as the demo has."""

import pytest

from guanxi.users import roles
from guanxi.users.tests.factories import TeamFactory, UserFactory


@pytest.fixture
def teams(db):
    east = TeamFactory(name="华东销售部")
    shanghai = TeamFactory(name="上海组", parent=east)
    hangzhou = TeamFactory(name="杭州组", parent=east)
    north = TeamFactory(name="华北销售部")
    return {"east": east, "shanghai": shanghai, "hangzhou": hangzhou, "north": north}


@pytest.fixture
def users(teams):
    """admin, manager (华东销售部), rep1 (上海组), rep2 (杭州组), rep3 (华北销售部), agent1,
    marketer1, exec1, partner1."""
    return {
        "admin": UserFactory(username="admin", role=roles.ADMIN, team=None),
        "manager": UserFactory(username="manager", role=roles.SALES_MANAGER, team=teams["east"]),
        "rep1": UserFactory(username="rep1", role=roles.SALES_REP, team=teams["shanghai"]),
        "rep2": UserFactory(username="rep2", role=roles.SALES_REP, team=teams["hangzhou"]),
        "rep3": UserFactory(username="rep3", role=roles.SALES_REP, team=teams["north"]),
        "agent1": UserFactory(username="agent1", role=roles.SERVICE_AGENT),
        "marketer1": UserFactory(username="marketer1", role=roles.MARKETER),
        "exec1": UserFactory(username="exec1", role=roles.EXECUTIVE),
        "partner1": UserFactory(username="partner1", role=roles.PARTNER),
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Row ids repeat between tests, so cached scopes and permissions must not."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
