"""Writing audit events. :func:`record` is the one entry point every service calls.

Contract: call it inside the ``transaction.atomic()`` block that makes the change, so the change
and its event commit or roll back together (it refuses to run outside a transaction, and any
failure here -- bad details, a refused insert -- raises and so fails the change). It only
*inserts*: the event and a pending marker. Sequence numbers and Merkle hashes are assigned after
commit by the sequencer (:mod:`audit.sequencer`), in batches under one lock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from audit import verify_core
from audit.canonical import event_body, from_micros, normalize, to_micros
from audit.choices import ActorType
from audit.models import AuditEvent, Checkpoint, PendingEvent

SYSTEM = "system"
BULK_BATCH = 500  # rows per INSERT in record_many (SQLite caps bound parameters per statement)
logger = logging.getLogger(__name__)


class AuditOutsideTransaction(RuntimeError):
    """record() was called outside transaction.atomic(): the event could outlive a failed change."""


def actor_fields(actor: Any) -> dict[str, str]:
    """Normalise an actor: a user, ``None``/anonymous (the system), or a string naming a component."""
    if actor is None or getattr(actor, "is_anonymous", False):
        return {"actor_type": ActorType.SYSTEM, "actor_id": SYSTEM, "actor_name": SYSTEM}
    if isinstance(actor, str):
        return {"actor_type": ActorType.SYSTEM, "actor_id": actor, "actor_name": actor}
    return {"actor_type": ActorType.USER, "actor_id": str(actor.pk), "actor_name": actor.get_username()}


def target_type_of(instance: models.Model) -> str:
    """Stable target type name: ``app_label.modelname``."""
    return instance._meta.label_lower


def record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    target_type: str | None = None,
    target_id: str | int | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event for ``action`` on ``target`` (an instance, or type + id).

    ``details`` holds identifiers, counts and keyed hashes only, never raw personal data; it is
    normalised (no floats, times as integer microseconds, see :mod:`audit.canonical`) and the
    event's canonical body and leaf hash are fixed here, at write time. Returns the unsaved-seq
    event (``event.seq`` is None until the sequencer has run).
    """
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction(f"audit.record({action!r}) must run inside transaction.atomic()")
    event = _event(
        actor_info=actor_fields(actor),
        action=action,
        target=target,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        details=details,
    )
    _insert_with_marker(event)
    _sequence_after_commit()
    return event


def _insert_with_marker(event: AuditEvent) -> None:
    """Insert the event and its pending marker: one round trip on PostgreSQL (a data-modifying
    CTE), two elsewhere. The statement's values are the ones ``save()`` would write."""
    if connection.vendor != "postgresql":
        event.save(force_insert=True)
        PendingEvent.objects.create(event=event)
        return
    meta = AuditEvent._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    params = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in fields]
    sql = (
        f"WITH e AS (INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f"RETURNING {quote(meta.pk.column)}) "
        f"INSERT INTO {quote(PendingEvent._meta.db_table)} (event_id) SELECT {quote(meta.pk.column)} FROM e RETURNING event_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias


def record_many(*, actor: Any, events: Sequence[Mapping[str, Any]]) -> list[AuditEvent]:
    """Append one audit event per item of ``events``, with two INSERT statements in all.

    Each item takes :func:`record`'s keyword arguments except ``actor`` (shared): ``action``,
    ``target`` or ``target_type`` + ``target_id``, ``reason``, ``details``. Each event gets the
    body :func:`record` would have given it at that moment (same normalisation, canonical JSON
    and leaf hash) and its pending marker, in the caller's transaction (refused outside one, like
    :func:`record`). For services that change many rows at once: still one event per change.
    Returns the events, in order, with their ids.
    """
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction("audit.record_many() must run inside transaction.atomic()")
    actor_info = actor_fields(actor)
    built = [
        _event(
            actor_info=actor_info,
            action=item["action"],
            target=item.get("target"),
            target_type=item.get("target_type"),
            target_id=item.get("target_id"),
            reason=item.get("reason", ""),
            details=item.get("details"),
        )
        for item in events
    ]
    if not built:
        return []
    with transaction.atomic(savepoint=False):
        saved = AuditEvent.objects.bulk_create(built, batch_size=BULK_BATCH)
        if any(event.pk is None for event in saved):  # every supported database returns the ids
            raise RuntimeError("audit.record_many() needs a database that returns ids from a bulk insert")
        PendingEvent.objects.bulk_create([PendingEvent(event_id=event.pk) for event in saved], batch_size=BULK_BATCH)
    _sequence_after_commit()
    return saved


def _event(
    *,
    actor_info: dict[str, str],
    action: str,
    target: models.Model | None,
    target_type: str | None,
    target_id: str | int | None,
    reason: str,
    details: dict[str, Any] | None,
) -> AuditEvent:
    """The validated, unsaved event with its canonical body and leaf hash (time: now)."""
    if target is not None:
        target_type, target_id = target_type_of(target), target.pk
    if not target_type or target_id is None:
        raise ValueError("record() needs a target instance or target_type and target_id")
    clean_details = normalize(details or {})
    if not isinstance(clean_details, dict):
        raise TypeError("audit details must be a dict")
    time_us = to_micros(timezone.now())
    body = event_body(
        time_us=time_us,
        actor_type=actor_info["actor_type"],
        actor_id=actor_info["actor_id"],
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        reason=reason or "",
        details=clean_details,
    )
    event = AuditEvent(
        occurred_at=from_micros(time_us),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        reason=reason or "",
        details=clean_details,
        body=body,
        leaf_hash=verify_core.leaf_hash(body),
        **actor_info,
    )
    event.full_clean()
    return event


def _run_sequencer() -> None:
    from audit.sequencer import drainer, sequence_pending

    if getattr(settings, "CUSTOS_LEDGER_SEQUENCER", "background") == "background":
        drainer.wake()  # group commit: this process's drainer thread appends the events
        return
    try:
        sequence_pending(wait=False)  # busy? the holder or the periodic task appends our event
    except Exception:  # the change is committed; its event stays pending for the next run
        logger.exception("audit sequencer failed after commit; events stay pending for the next run")


def _sequence_after_commit() -> None:
    """Ask for one sequencer run when the outermost transaction commits (once per transaction):
    a wake of the background drainer, or an inline run (``CUSTOS_LEDGER_SEQUENCER``)."""
    if not getattr(settings, "CUSTOS_LEDGER_SEQUENCE_ON_COMMIT", True):
        return
    if any(callback is _run_sequencer for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_run_sequencer)


class CheckpointRefused(RuntimeError):
    """The current log is not consistent with the latest checkpoint: nothing was signed."""


def checkpoint_create(*, actor: Any = None) -> Checkpoint:
    """Sequence pending events, then sign and store a checkpoint of the whole log.

    Returns the latest checkpoint unchanged when the log has not grown. Refuses (CheckpointRefused,
    nothing signed) when the latest stored checkpoint is not signed by a trusted key, or the
    current log does not extend it: a signed root is never inconsistent with its predecessor. A
    checkpoint signed with a different key than its predecessor records ``audit.key.rotate``.
    """
    from audit import selectors
    from audit.keys import load_signer, trusted_verifiers
    from audit.sequencer import current_size, lock, sequence_pending

    signer = load_signer()
    origin = settings.CUSTOS_LEDGER_ORIGIN
    sequence_pending()
    with transaction.atomic():
        lock()  # the size cannot move while we sign it
        size = current_size()
        latest = selectors.checkpoint_latest()
        if latest is not None and latest.tree_size == size:
            return latest
        root = selectors.ledger_root(size)
        if latest is not None:
            try:
                previous, _ = verify_core.open_checkpoint(latest.note, trusted_verifiers(), origin=origin)
            except verify_core.NoteError as exc:
                raise CheckpointRefused(f"latest checkpoint (size {latest.tree_size}) does not verify: {exc}") from exc
            if previous.size > size:
                raise CheckpointRefused(f"the log has {size} entries, fewer than the latest checkpoint's {previous.size}")
            proof = selectors.ledger_consistency_proof(previous.size, size).path if previous.size else []
            consistent = previous.size == 0 and previous.root == verify_core.EMPTY_ROOT
            consistent = consistent or verify_core.verify_consistency(previous.size, size, proof, previous.root, root)
            if not consistent:
                raise CheckpointRefused(f"the log is not consistent with the latest checkpoint (size {previous.size})")
        note = verify_core.sign_note(verify_core.Checkpoint(origin=origin, size=size, root=root).text(), signer)
        checkpoint = Checkpoint(
            tree_size=size, root_hash=root, note=note, key_id=signer.verifier.key_id.hex(), created_at=timezone.now()
        )
        checkpoint.full_clean()
        checkpoint.save(force_insert=True)
        if latest is not None and latest.key_id != checkpoint.key_id:
            record(
                actor=actor,
                action="audit.key.rotate",
                target=checkpoint,
                details={"from_key_id": latest.key_id, "to_key_id": checkpoint.key_id, "tree_size": size},
            )
    return checkpoint
