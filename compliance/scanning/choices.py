"""Vocabularies of PII scanning. Stored values are contracts: never rename one."""

from django.db import models

from core.choices import RunStatus

# A scan's status is the one run vocabulary of ``core.choices`` under the name this app has always used.
ScanStatus = RunStatus

FINISHED = (ScanStatus.SUCCEEDED, ScanStatus.FAILED, ScanStatus.CANCELLED)


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
