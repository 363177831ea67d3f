"""Domain events: recorded by services in the same transaction as the change (an outbox).

Names are ``<record>.<what happened>`` (``lead.created``, ``lead.converted``). Delivery
(webhooks) reads them in ``id`` order; integrators can also poll them through the API.
"""

from typing import Any

from django.db import models

from guanxi.core.models import DomainEvent


def event_record(
    name: str, *, subject: models.Model, payload: dict[str, Any], actor: Any = None
) -> DomainEvent:
    """Record ``name`` about ``subject``; call inside the transaction of the change."""
    return DomainEvent.objects.create(
        name=name,
        subject_type=subject._meta.model_name or "",
        subject_id=subject.pk,
        payload=payload,
        actor_id=getattr(actor, "pk", None),
    )
