"""``chunk_update`` (ADD): near-real-time checks. A logged prediction batch is folded into its monitor's
open chunk (monitoring.stats.stream.ChunkState: a mergeable profile and quality counts), and the open
chunk is checked from those running statistics -- drift per feature, dataset drift and the data-quality
checks -- without re-reading the batches merged before. The check is a ``MonitorRun`` (trigger
``stream``, its ``batch_ids`` the chunk's batches) with results and alerts like any run, so an alert
fires as soon as the batch that causes it has been merged.

A chunk closes once it holds ``Monitor.chunk_rows`` rows (or ``chunk_minutes`` after it opened); the
closed chunk then gets one full run over its batches (trigger ``chunk``: multivariate drift, realized
and estimated performance and concept drift, which need rows), enqueued after the commit. Updates of a
monitor are serialised by a lock on its row; a batch already merged (a redelivered task) is skipped.
Below ``MIN_ROWS`` rows in the chunk, the batch is merged and no check is written.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import ADD, require
from audit import services as audit
from core.types import Actor
from monitoring.choices import BatchKind
from monitoring.data import read_typed_frame
from monitoring.models import LoggedBatch, Monitor, MonitorChunk, MonitorRun
from monitoring.stats.drift import dataset_drift
from monitoring.stats.kinds import ColumnKind
from monitoring.stats.quality import QualityConfig, ReferenceSummary
from monitoring.stats.stream import ChunkState, quality_from_state

from ._common import check_visible, drift_options
from .quality import quality_result
from .runs import (
    CurrentSide,
    Outcome,
    Reference,
    RunInputError,
    column_drifts,
    drift_results,
    fail_run,
    feature_columns,
    finish_run,
    load_reference,
    reference_kinds,
    start_run,
)

MIN_ROWS = 30


def _summary(monitor: Monitor, reference: Reference, kinds: dict[str, ColumnKind]) -> ReferenceSummary:
    if reference.profile is not None:
        return ReferenceSummary.from_profile(reference.profile)
    present = {f: k for f, k in kinds.items() if f in reference.frame.columns}
    return ReferenceSummary.from_frame(reference.frame, present)


def _outputs(monitor: Monitor) -> list[str]:
    return [c for c in (monitor.prediction_column, monitor.probability_column, monitor.id_column, monitor.label_column) if c]


def state_current(state: ChunkState) -> CurrentSide:
    def dist(name: str, kind: ColumnKind):
        p = state.profile.columns.get(name) if state.profile is not None else None
        if p is None:
            raise RunInputError(f"the logged data has no column(s) {name}")
        return p.dist()

    return CurrentSide(dist, lambda name: state.rows - state.nulls.get(name, 0) if name in state.columns_seen else 0)


def state_outcome(
    monitor: Monitor, reference: Reference, state: ChunkState, *, summary: ReferenceSummary, newest_arrival
) -> Outcome:
    """Drift and data-quality results of a chunk from its running statistics."""
    missing = [f for f in state.features if f not in state.columns_seen]
    if missing:
        raise RunInputError(f"the logged data has no column(s) {', '.join(missing)}")
    columns = column_drifts(monitor, reference, state.features, state_current(state))
    report = dataset_drift(columns, drift_options(monitor.drift_options))
    outcome = Outcome(drift_results(report), bool(report.dataset_drift), float(report.share_drifted))
    checks = quality_from_state(
        summary,
        state,
        config=QualityConfig.from_json(monitor.quality_checks),
        ignore_added=_outputs(monitor),
        id_column=monitor.id_column,
        newest_arrival=newest_arrival,
    )
    outcome.results += [quality_result(q) for q in checks]
    outcome.summary = {
        "features": len(state.features),
        "drifted": report.number_of_drifted_columns,
        "flagged": sum(r.flagged for r in outcome.results),
        "results": len(outcome.results),
    }
    return outcome


def _open_chunk(monitor: Monitor, reference: Reference, state_kinds: dict[str, ColumnKind], now) -> MonitorChunk:
    """The monitor's open chunk, closed first when its time is up; a new one when there is none."""
    chunk = MonitorChunk.objects.filter(monitor=monitor, is_open=True).first()
    if chunk is not None and monitor.chunk_minutes and chunk.opened_at + timedelta(minutes=monitor.chunk_minutes) <= now:
        _close(chunk, now)
        chunk = None
    if chunk is not None and chunk.reference_sha256 != reference.sha256:
        _close(chunk, now)  # the reference changed under the chunk: its counts were taken against the old one
        chunk = None
    if chunk is None:
        last = MonitorChunk.objects.filter(monitor=monitor).order_by("-index").values_list("index", flat=True).first()
        chunk = MonitorChunk.objects.create(
            monitor=monitor,
            index=0 if last is None else last + 1,
            reference_sha256=reference.sha256,
            profile=ChunkState.empty(list(state_kinds), state_kinds).to_json(),
        )
    return chunk


def _close(chunk: MonitorChunk, now) -> None:
    chunk.is_open = False
    chunk.closed_at = now
    chunk.save(update_fields=["is_open", "closed_at", "updated_at"])
    if chunk.batch_ids:
        from monitoring import tasks

        monitor_id, batch_ids, user_id = chunk.monitor_id, list(chunk.batch_ids), None
        transaction.on_commit(lambda: tasks.monitor_run.delay(monitor_id, user_id, "chunk", batch_ids))


def chunk_update(*, actor: Actor | str, monitor: Monitor, batch: LoggedBatch) -> MonitorRun | None:
    """Fold ``batch`` into ``monitor``'s open chunk and check the chunk; returns the check's run (None
    when the batch was merged before, or the chunk is still below ``MIN_ROWS``)."""
    require(actor, ADD, "monitor runs")
    check_visible(actor, model_version=monitor.model_version, asset=monitor.reference_asset)
    if batch.model_version_id != monitor.model_version_id or batch.kind != BatchKind.PREDICTIONS:
        raise ValidationError("a chunk holds prediction batches of the monitor's own model version")
    reference = load_reference(monitor)
    features = feature_columns(monitor, reference)
    kinds = reference_kinds(monitor, reference, features)
    summary = _summary(monitor, reference, kinds)
    config = QualityConfig.from_json(monitor.quality_checks)
    frame = read_typed_frame(batch.location)
    with transaction.atomic():
        monitor = (
            Monitor.objects.select_for_update(of=("self",)).select_related("model_version", "reference_asset").get(pk=monitor.pk)
        )
        now = timezone.now()
        chunk = _open_chunk(monitor, reference, kinds, now)
        if any(batch.pk in ids for ids in MonitorChunk.objects.filter(monitor=monitor).values_list("batch_ids", flat=True)):
            return None  # merged before (a redelivered task)
        state = ChunkState.from_json(chunk.profile)
        state.add(frame, reference=summary, config=config, id_column=monitor.id_column)
        chunk.profile = state.to_json()
        chunk.rows = state.rows
        chunk.batch_ids = [*chunk.batch_ids, batch.pk]
        chunk.save(update_fields=["profile", "rows", "batch_ids", "updated_at"])
        audit.record(
            actor=actor,
            action="monitoring.chunk_update",
            target=chunk,
            details={"monitor": monitor.pk, "chunk": chunk.index, "batch": batch.pk, "rows": chunk.rows},
        )
        if state.rows < MIN_ROWS:
            return None
        batches = list(LoggedBatch.objects.filter(pk__in=chunk.batch_ids).order_by("pk"))
        extra = {"chunk": chunk.index, "chunk_rows": chunk.rows}
        run = start_run(actor=actor, monitor=monitor, batches=batches, trigger="stream", extra=extra)
        try:
            outcome = state_outcome(
                monitor, reference, state, summary=summary, newest_arrival=max(b.received_at for b in batches)
            )
        except (RunInputError, ValueError, ValidationError) as exc:
            run = fail_run(actor=actor, run=run, exc=exc)
        else:
            outcome.summary["approximate"] = sum(1 for r in outcome.results if r.details.get("approximate"))
            run = finish_run(actor=actor, run=run, reference=reference, outcome=outcome, extra=extra)
        if monitor.chunk_rows and chunk.rows >= monitor.chunk_rows:
            _close(chunk, now)
    return run
