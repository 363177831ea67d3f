"""Scheduled work of the core: webhook delivery."""

from celery import shared_task

from guanxi.core.webhooks import webhooks_run


@shared_task(ignore_result=True)
def webhooks_deliver_task() -> dict[str, int]:
    """Every minute: turn settled domain events into deliveries and send the due ones."""
    return webhooks_run()
