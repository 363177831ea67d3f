"""Scheduled work on leads."""

from celery import shared_task

from guanxi.sales import services


@shared_task(ignore_result=True)
def leads_return_to_pool_task() -> int:
    """Hourly: leads without a follow-up for their team's limit go back to the pool."""
    returned, _warned = services.leads_return_to_pool()
    return returned
