"""Abstract models only: ``core`` owns no table."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.choices import FINISHED, RunStatus


class Run(models.Model):
    """A long job's row: status, progress (0..1), error text, who started it and when.

    ``error`` holds what went wrong in words, never data values (it is shown in the UI and API).
    The ``mark_*`` methods set the fields and save only the fields they touch; the caller's service
    writes the audit event in the same transaction.
    """

    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    def mark_running(self) -> None:
        self.status = RunStatus.RUNNING
        self.started_at = self.started_at or timezone.now()
        self.save(update_fields=["status", "started_at"])

    def mark_succeeded(self) -> None:
        self.status = RunStatus.SUCCEEDED
        self.progress = 1.0
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "progress", "finished_at"])

    def mark_failed(self, message: str) -> None:
        self.status = RunStatus.FAILED
        self.error = message
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "error", "finished_at"])
