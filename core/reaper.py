"""The run reaper: long jobs whose worker died are resumed or failed, not left ``running`` (issue 17, item 6).

A ``Run`` row (scans, anonymizations, retention passes, evidence exports, monitor runs) says
``running`` from the moment a worker starts it. When the worker's main process is killed (OOM
killer, node loss) nothing marks the row again: with ``acks_late`` the broker redelivers the
message only after its visibility timeout (Redis) or once the connection drops (RabbitMQ), and a
task killed by its hard time limit is acknowledged as failed without touching the row.

The *heartbeat* is the workers' own: every live worker answers a broadcast (``inspect().active()``
and ``.reserved()``) with the tasks it holds. A run is **stale** when it has been running longer
than ``CUSTOS_REAPER_GRACE_SECONDS`` (60) since its last sign of work (a scan chunk's update, else
``started_at``) and no live worker holds a task for it. Then:

* a **scan** (its chunks are idempotent: a chunk's result is stored once, counts are re-summed) has
  its pending chunks sent again -- unless a chunk already had ``CUSTOS_REAPER_MAX_ATTEMPTS`` (3)
  attempts, then the run fails ("chunk N: worker lost 3 times");
* any other run fails with "worker lost: no live worker holds its task" (its task is not known to
  be idempotent, so it is not re-run behind the user's back; the user can start it again).

Each action is an audit event ``core.run.reap`` (``details``: model, outcome, chunks). When the
broker cannot be reached the tick does nothing: without the workers' answers nobody is declared
dead. Runs: every ``CUSTOS_REAPER_SECONDS`` by beat (``core.reap_runs``), or ``manage.py reap_runs``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.choices import RunStatus

logger = logging.getLogger("core.reaper")
ACTOR = "system:reaper"


@dataclass(frozen=True)
class RunKind:
    """How the reaper recognises a model's runs among the tasks workers hold."""

    model: str  # app_label.ModelName
    tasks: tuple[str, ...]
    run_arg: int | None = 0  # position of the run's id in the task's args (None: the task creates the run)


KINDS: tuple[RunKind, ...] = (
    RunKind("scanning.ScanRun", ("scanning.scan_run", "scanning.scan_chunk")),
    RunKind("policies.AnonymizationRun", ("policies.anonymization_execute",)),
    RunKind("policies.RetentionRun", ("policies.retention_enforce",), run_arg=None),
    RunKind("evidence.EvidenceExport", ("evidence.export_build",)),
    RunKind("monitoring.MonitorRun", ("monitoring.monitor_run",), run_arg=None),
)


@dataclass
class Held:
    """What live workers hold: run ids by task name, and the names of tasks held without a run id."""

    by_task: dict[str, set[int]] = field(default_factory=dict)

    def holds(self, kind: RunKind, run_id: int) -> bool:
        for name in kind.tasks:
            ids = self.by_task.get(name)
            if ids is None:
                continue
            if kind.run_arg is None or run_id in ids:
                return True
        return False


@dataclass(frozen=True)
class Reaped:
    model: str
    run_id: int
    outcome: str  # "redispatched" | "failed"
    chunks: tuple[int, ...] = ()


class BrokerUnreachable(Exception):
    """The workers could not be asked: nothing is reaped."""


def held_by_live_workers(timeout: float = 2.0) -> Held:
    """The tasks live workers are running or have reserved (their answers are the heartbeat)."""
    from config.celery import app

    if app.conf.task_always_eager or str(app.conf.broker_url or "").startswith("memory://"):
        return Held()  # no workers exist: tasks run in the caller
    try:
        inspector = app.control.inspect(timeout=timeout)
        replies = [inspector.active() or {}, inspector.reserved() or {}]
    except Exception as exc:
        raise BrokerUnreachable(type(exc).__name__) from None
    held = Held()
    for reply in replies:
        for tasks in reply.values():
            for task in tasks or ():
                name = task.get("name") or task.get("type") or ""
                args = task.get("args") or ()
                ids = held.by_task.setdefault(name, set())
                for kind in KINDS:
                    if name in kind.tasks and kind.run_arg is not None and len(args) > kind.run_arg:
                        with contextlib.suppress(TypeError, ValueError):
                            ids.add(int(args[kind.run_arg]))
    return held


def grace_seconds() -> int:
    return int(getattr(settings, "CUSTOS_REAPER_GRACE_SECONDS", 60))


def max_attempts() -> int:
    return int(getattr(settings, "CUSTOS_REAPER_MAX_ATTEMPTS", 3))


def reap_runs(*, held: Held | None = None, dry_run: bool = False, send: Callable[..., Any] | None = None) -> list[Reaped]:
    """Resume or fail every stale run (see the module doc); returns what was (or, dry, would be) done."""
    if held is None:
        held = held_by_live_workers()
    cutoff = timezone.now() - timedelta(seconds=grace_seconds())
    done: list[Reaped] = []
    for kind in KINDS:
        try:
            model = apps.get_model(kind.model)
        except LookupError:
            continue
        for run in model.objects.filter(status=RunStatus.RUNNING).order_by("pk"):
            if held.holds(kind, run.pk) or _last_sign(run) > cutoff:
                continue
            outcome = _reap(kind, run, dry_run=dry_run, send=send)
            if outcome is not None:
                done.append(outcome)
    return done


def _last_sign(run) -> Any:
    """The latest moment the run showed work: its newest chunk update (scans), else ``started_at``."""
    last = run.started_at or timezone.now()
    chunks = getattr(run, "chunks", None)
    if chunks is not None:
        newest = chunks.aggregate(newest=Max("updated_at"))["newest"]
        if newest is not None and newest > last:
            last = newest
    return last


def _reap(kind: RunKind, run, *, dry_run: bool, send) -> Reaped | None:
    from audit.services import record  # core owns no table and writes no event of its own kind elsewhere

    chunks = getattr(run, "chunks", None)
    pending: list[Any] = list(chunks.filter(status="pending").order_by("index")) if chunks is not None else []
    exhausted = [c.index for c in pending if c.attempts >= max_attempts()]
    if pending and not exhausted:
        outcome = Reaped(kind.model, run.pk, "redispatched", tuple(c.index for c in pending))
        if dry_run:
            return outcome
        with transaction.atomic():
            record(
                actor=ACTOR,
                action="core.run.reap",
                target=run,
                reason="no live worker holds the run's tasks: pending chunks sent again",
                details={"model": kind.model, "outcome": outcome.outcome, "chunks": list(outcome.chunks)},
            )
            sender = send or _send
            indexes = list(outcome.chunks)
            transaction.on_commit(lambda: [sender("scanning.scan_chunk", run.pk, i) for i in indexes])
        return outcome
    if chunks is not None and not pending:
        return None  # every chunk is done: the last one merges; nothing was lost
    if exhausted:
        error = f"chunk {exhausted[0]}: worker lost {max_attempts()} times"
    else:
        error = "worker lost: no live worker holds its task"
    outcome = Reaped(kind.model, run.pk, "failed")
    if dry_run:
        return outcome
    with transaction.atomic():
        fresh = type(run).objects.select_for_update().filter(pk=run.pk, status=RunStatus.RUNNING).first()
        if fresh is None:
            return None
        fresh.mark_failed(error)
        record(
            actor=ACTOR,
            action="core.run.reap",
            target=fresh,
            reason=error,
            details={"model": kind.model, "outcome": "failed"},
        )
    logger.warning("reaped %s %s: %s", kind.model, run.pk, error)
    return outcome


def _send(name: str, *args: Any) -> None:
    """Send ``name`` by name (core imports no app's tasks); run it here when Celery is eager."""
    from config.celery import app

    if app.conf.task_always_eager:
        app.tasks[name].apply(args=list(args))
    else:
        app.send_task(name, args=list(args))


def summary(reaped: Iterable[Reaped]) -> str:
    reaped = list(reaped)
    if not reaped:
        return "reap_runs: nothing stale"
    return "; ".join(
        f"{r.model} {r.run_id}: {r.outcome}" + (f" (chunks {', '.join(map(str, r.chunks))})" if r.chunks else "") for r in reaped
    )
