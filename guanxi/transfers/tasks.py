"""Background jobs for imports and exports. Thin: each calls one service, which is
idempotent (a finished job is left alone; an interrupted import resumes)."""

from celery import shared_task

from guanxi.transfers import services


@shared_task(acks_late=True, ignore_result=True)
def import_job_run_task(job_id: int) -> None:
    services.import_job_run(job_id=job_id)


@shared_task(acks_late=True, ignore_result=True)
def export_job_run_task(job_id: int) -> None:
    services.export_job_run(job_id=job_id)


@shared_task(ignore_result=True)
def transfer_files_expire_task() -> int:
    """Nightly: remove import/export files older than TRANSFER_FILES_KEEP_DAYS."""
    from django.conf import settings

    return services.transfer_files_expire(older_than_days=settings.TRANSFER_FILES_KEEP_DAYS)
