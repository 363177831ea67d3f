"""Scheduled and queued work on follow-ups and meetings."""

from celery import shared_task

from guanxi.activities import services


@shared_task(ignore_result=True)
def follow_up_digest_task() -> int:
    """Hourly: each person's daily digest of follow-ups, once their day has begun."""
    return services.follow_up_digest_send()


@shared_task(ignore_result=True, acks_late=True)
def meeting_invitations_task(
    meeting_id: int,
    sequence: int,
    actor_id: int | None = None,
    removed_user_ids: list[int] | None = None,
    removed_contact_ids: list[int] | None = None,
) -> int:
    """E-mail one version of a meeting's invitation (idempotent: sent once per version)."""
    return services.meeting_invitations_send(
        meeting_id=meeting_id,
        sequence=sequence,
        actor_id=actor_id,
        removed_user_ids=removed_user_ids or [],
        removed_contact_ids=removed_contact_ids or [],
    )
