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
