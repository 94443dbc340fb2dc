"""Vocabularies of PII scanning. Stored values are contracts: never rename one."""

from django.db import models


class ScanStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (ScanStatus.SUCCEEDED, ScanStatus.FAILED, ScanStatus.CANCELLED)


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
