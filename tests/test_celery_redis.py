"""A real Celery worker process consuming from the real Redis broker.

Runs with ``make test-redis`` (REDIS_URL and a shared DATABASE_URL set); the rest of the
suite runs tasks in-process (eager), which the embedded default uses too.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from guanxi.customers.models import Customer
from guanxi.customers.tasks import customers_refresh_search
from guanxi.customers.tests.factories import CustomerFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def worker():
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("needs REDIS_URL and a PostgreSQL DATABASE_URL the worker can share")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "guanxi",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _wait_for(predicate, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_queued_task_runs_in_the_worker_and_is_idempotent(worker):
    # Given a customer whose search columns are stale
    customer = CustomerFactory(name="杭州万华化工有限公司")
    Customer.objects.filter(pk=customer.pk).update(search_text="", name_initials="")
    assert not settings.CELERY_TASK_ALWAYS_EAGER

    # When the refresh is queued twice through Redis
    customers_refresh_search.delay([customer.pk])
    customers_refresh_search.delay([customer.pk])

    # Then the worker process fixes the row, and the second run changes nothing
    assert _wait_for(lambda: Customer.objects.get(pk=customer.pk).name_initials == "hzwhhgyxgs"), (
        "worker did not process the task"
    )
    customer.refresh_from_db()
    assert " hz " in customer.search_text
    assert worker.poll() is None, "worker exited early"
