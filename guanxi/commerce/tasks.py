"""Scheduled work on receivables."""

from celery import shared_task

from guanxi.commerce import services


@shared_task(ignore_result=True)
def collection_reminders_task() -> int:
    """Hourly: reminders for receivables coming due and overdue (帐款催收), one per step of
    the policy's schedule; a step already sent is never sent again."""
    return services.collection_reminders_send()
