"""The audit seam: one append-only table of events (the ledger issue makes it tamper-evident)."""

from django.db import models

from audit.choices import ActorType


class AuditEvent(models.Model):
    """One thing that happened: who did what to which object, why, with non-personal details.

    Rows are only ever inserted, through :func:`audit.services.record`, inside the transaction of
    the change they describe. ``details`` must never hold raw personal data (ids, counts, keyed
    hashes instead).
    """

    occurred_at = models.DateTimeField(db_index=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=150, help_text="User primary key, or the system component's name.")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80, db_index=True, help_text="Dotted verb, e.g. catalog.asset.create.")
    target_type = models.CharField(max_length=80, db_index=True)
    target_id = models.CharField(max_length=120, db_index=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_type}:{self.target_id} by {self.actor_type}:{self.actor_id}"
