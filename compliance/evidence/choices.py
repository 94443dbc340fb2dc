"""Vocabularies of evidence exports. Stored values are contracts: never rename one."""

from django.db import models


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


FINISHED = frozenset({ExportStatus.SUCCEEDED, ExportStatus.FAILED})
