"""PII scan runs and their chunks.

A :class:`ScanRun` is one scan of a file, a database table or a cataloged asset: its status,
progress, timings, sample sizes, errors and findings (per column: entity type, confidence, share,
recognizers, name hint -- never cell values). A large source is split into :class:`ScanChunk` rows
that workers fill in; a chunk's result is written once (a redelivered task finds it done), so a
killed worker's chunk is recomputed without being counted twice. Written only by
``compliance.scanning.services``.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.querysets import RestrictedQuerySet
from catalog.choices import Sensitivity
from catalog.models import DataAsset
from compliance.scanning.choices import ChunkStatus, ScanStatus
from core.models import Run


class ScanRun(Run):
    """One PII scan: what was scanned, how (sample size, seed), where it stands, what it found.

    Status, progress, error, ``started_by``, ``started_at`` and ``finished_at`` come from
    ``core.models.Run`` (one run vocabulary, ``core.choices.RunStatus``). ``started_by`` is the
    user who asked for the scan (null for a system caller such as ``manage.py scan`` without
    ``--user``); the API still shows it as ``created_by``.
    """

    asset = models.ForeignKey(DataAsset, null=True, blank=True, on_delete=models.SET_NULL, related_name="scan_runs")
    location = models.CharField(max_length=1000, help_text="File path or URL#table scanned (never with credentials).")
    sample_size = models.PositiveIntegerField(default=1000, validators=[MinValueValidator(1), MaxValueValidator(1_000_000)])
    seed = models.BigIntegerField(default=0)
    column_hints = models.BooleanField(default=True)
    chunk_rows = models.PositiveIntegerField(default=250_000, validators=[MinValueValidator(1)])
    rows_total = models.BigIntegerField(null=True, blank=True)
    rows_scanned = models.BigIntegerField(default=0)
    rows_sampled = models.BigIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    findings = models.JSONField(default=list, blank=True, help_text="Per column: entities found (no cell values).")
    classifications_written = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    seconds = models.FloatField(null=True, blank=True, help_text="Wall time from start to finish.")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ScanStatus.values), name="scanrun_status_valid"),
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=1), name="scanrun_progress_0_1"),
            models.CheckConstraint(condition=Q(chunks_done__lte=models.F("chunks_total")), name="scanrun_chunks_done_le_total"),
        ]
        indexes = [models.Index(fields=["asset", "-created_at"])]

    def __str__(self) -> str:
        return f"scan {self.pk} of {self.asset or self.location} ({self.status})"

    @classmethod
    def restricted_q(cls) -> Q:
        return Q(asset__sensitivity=Sensitivity.RESTRICTED)


class ScanChunk(models.Model):
    """A slice of a scan's source (row groups or a row range) and, once done, its sampled analysis.

    ``result`` holds per column the row/non-null counts and per sampled cell its sampling key and
    recognizer hits -- enough to merge and decide, never a cell value.
    """

    run = models.ForeignKey(ScanRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    spec = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    rows = models.BigIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["run_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="scanchunk_unique_index"),
            models.CheckConstraint(condition=Q(status__in=ChunkStatus.values), name="scanchunk_status_valid"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of scan {self.run_id} ({self.status})"

    @classmethod
    def restricted_q(cls) -> Q:
        return Q(run__asset__sensitivity=Sensitivity.RESTRICTED)
