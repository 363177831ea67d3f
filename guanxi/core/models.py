"""Base models shared by every app, and the China administrative region list."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class Region(models.Model):
    """A province, city or district of the People's Republic of China (GB/T 2260 code)."""

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("Province")
        CITY = 2, _("City")
        DISTRICT = 3, _("District")

    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=64)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        indexes = [models.Index(fields=["level", "name"], name="core_region_level_name")]

    def __str__(self) -> str:
        return self.name


class DomainEvent(models.Model):
    """Something that happened, for integrations (webhooks, polling through the API).

    Written by services inside the transaction of the change itself (an outbox), so an
    event exists exactly when its change committed; ``id`` orders them.
    """

    name = models.CharField(_("event"), max_length=60, db_index=True)
    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("domain event")
        verbose_name_plural = _("domain events")
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="event_subject_idx")]

    def __str__(self) -> str:
        return f"{self.name} {self.subject_type}:{self.subject_id}"
