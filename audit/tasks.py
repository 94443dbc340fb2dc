"""Periodic ledger work (scheduled in settings.CELERY_BEAT_SCHEDULE). Thin: one service each."""

from celery import shared_task


@shared_task(name="audit.tasks.ledger_sequence")
def ledger_sequence() -> int:
    """Append pending events (a backstop for the after-commit run); returns how many."""
    from audit.sequencer import sequence_pending

    return sequence_pending()


@shared_task(name="audit.tasks.ledger_checkpoint")
def ledger_checkpoint() -> int:
    """Sign and store a checkpoint of the current log; returns its tree size."""
    from audit.services import checkpoint_create

    return checkpoint_create(actor="celery-beat").tree_size
