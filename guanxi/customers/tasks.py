"""Background work for customers. Tasks are thin, idempotent and safe to retry."""

from celery import shared_task

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_prepare

BATCH = 1000


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def customers_refresh_search(customer_ids: list[int] | None = None) -> int:
    """Recompute the derived search columns (pinyin, normalised phones, search text).

    Run after changing how search text is built (or a pinyin dictionary upgrade); with no
    ids it walks every customer in batches. Writing the same values again is harmless.
    """
    qs = Customer.objects.order_by("pk")
    if customer_ids is not None:
        qs = qs.filter(pk__in=customer_ids)
    fields = [
        "name_pinyin",
        "name_initials",
        "phone_normalized",
        "mobile_normalized",
        "search_text",
    ]
    changed = 0
    last_pk = 0
    while True:
        batch = list(qs.filter(pk__gt=last_pk)[:BATCH])
        if not batch:
            return changed
        dirty = []
        for customer in batch:
            before = [getattr(customer, f) for f in fields]
            try:
                customer_prepare(customer)
            except Exception:  # bad legacy data must not stop the batch
                continue
            if [getattr(customer, f) for f in fields] != before:
                dirty.append(customer)
        Customer.objects.bulk_update(dirty, fields)
        changed += len(dirty)
        last_pk = batch[-1].pk


@shared_task(ignore_result=True)
def customers_return_to_pool_task() -> int:
    """Hourly: customers without a follow-up for their team's limit go back to the pool."""
    from guanxi.customers.services import customers_return_to_pool

    returned, _warned = customers_return_to_pool()
    return returned
