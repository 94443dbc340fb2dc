"""What the audit app adds to pages through ``core.pages`` (header links, asset-page tabs,
model-version sections, dashboard sections). Imported once from ``AppConfig.ready()``; every
context function reads through this app's scoped selectors."""

from core import pages  # noqa: E402


def ledger_status(request, obj):
    """The log's size, events still waiting for a position, and the latest signed checkpoint
    (the ``audit`` action, as the audit API: auditors and admins)."""
    from audit import selectors
    from audit.models import PendingEvent
    from audit.verify_core import b64

    size = selectors.ledger_size()
    checkpoint = selectors.checkpoint_latest()
    return {
        "size": size,
        "pending": PendingEvent.objects.count(),
        "checkpoint": checkpoint,
        "checkpoint_root": b64(bytes(checkpoint.root_hash)) if checkpoint else "",
        "since_checkpoint": size - checkpoint.tree_size if checkpoint else size,
    }


pages.panel("dashboard", "ledger", label="Audit ledger", template="audit/panels/ledger.html",
            context=ledger_status, order=70, permission="audit")  # fmt: skip
