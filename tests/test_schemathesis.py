"""Property-based tests of the REST API against its own OpenAPI document (schemathesis).

Runs in-process through the WSGI application with an administrator's token: no answer may
be a 5xx, every status code must be documented for its operation, and every body must
match the documented schema.
"""

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from guanxi.customers.tests.test_api import (
    make_channel,
    make_contact,
    make_customer,
    make_tag,
)
from guanxi.sales.tests.factories import LeadFactory, OpportunityFactory
from guanxi.users.services import api_token_create
from guanxi.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    negative_data_rejection,
]


@pytest.fixture
def keep_db_connection():
    """Requests go through the real WSGI handler, which closes the database connection
    after each request; inside the test's transaction that would drop it (PostgreSQL).
    Django's own test client disconnects the same handlers."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(users, settings, keep_db_connection):
    """An administrator's token, and a little data for the operations to find."""
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000
    cache.clear()
    channel = make_channel(name="展会")
    tag = make_tag(name="重点")
    for owner in ("rep1", "rep2", "rep3"):
        customer = make_customer(owner=users[owner], channel=channel)
        customer.tags.add(tag)
        make_contact(customer=customer)
        LeadFactory(owner=users[owner], channel=channel)
        OpportunityFactory(customer=customer, owner=users[owner], channel=channel)
    LeadFactory(owner=None)
    _token, secret = api_token_create(user=users["admin"], name="schemathesis")
    return secret


@pytest.mark.django_db
@schema.parametrize()
@hypothesis.settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi_document(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)
