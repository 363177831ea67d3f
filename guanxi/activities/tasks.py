"""Scheduled work on follow-ups."""

from celery import shared_task

from guanxi.activities import services


@shared_task(ignore_result=True)
def follow_up_digest_task() -> int:
    """Hourly: each person's daily digest of follow-ups, once their day has begun."""
    return services.follow_up_digest_send()
