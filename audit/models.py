"""The ledger's tables. All of them are append-only, enforced by database triggers (see
``audit/triggers.py``); only ``PendingEvent`` is a work queue whose rows the sequencer deletes.

Write path: a service calls :func:`audit.services.record` inside its transaction, which inserts
one ``AuditEvent`` (with its canonical body and leaf hash) and one ``PendingEvent``. After commit,
the sequencer (:mod:`audit.sequencer`) takes the pending events in batches under one lock and
appends them to the Merkle log: one ``LedgerEntry`` each, with the next sequence number, plus the
``LedgerNode`` hashes of every subtree that became complete. ``Checkpoint`` rows hold signed notes.
"""

from django.db import models

from audit.choices import ActorType
from audit.constants import STORED_MIN_LEVEL  # noqa: E402, F401 - re-exported: other apps import it from here
from core.querysets import RestrictedQuerySet


class AuditEvent(models.Model):
    """One thing that happened: who did what to which object, why, with non-personal details.

    Rows are only ever inserted, through :func:`audit.services.record`, inside the transaction of
    the change they describe. ``details`` must never hold raw personal data (ids, counts, keyed
    hashes instead). ``body`` holds the exact canonical JSON bytes (RFC 8785) that are hashed into
    the ledger; the other columns are a queryable copy of it, except ``actor_name``, a display
    hint that is *not* part of the hashed body.
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
    body = models.BinaryField(help_text="Canonical JSON (RFC 8785) bytes, hashed as the Merkle leaf.")
    leaf_hash = models.BinaryField(max_length=32, help_text="SHA-256(0x00 || body).")

    # reading the ledger needs the ``audit`` action; the API viewset calls restrict(user, "audit")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_type}:{self.target_id} by {self.actor_type}:{self.actor_id}"

    @property
    def seq(self) -> int | None:
        """The event's position in the log, or None while it waits for the sequencer."""
        entry = getattr(self, "entry", None) if self.pk else None
        return entry.seq if entry is not None else None


class PendingEvent(models.Model):
    """Work queue: an event recorded but not yet given a sequence number.

    Inserted with its event, deleted by the sequencer in the transaction that appends the event.
    ``audit_verify`` reports events that are neither pending nor in the log.
    """

    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, primary_key=True, related_name="+")

    class Meta:
        ordering = ["event_id"]

    def __str__(self) -> str:
        return f"pending event #{self.event_id}"


class LedgerEntry(models.Model):
    """Leaf ``seq`` of the Merkle log: a copy of the event's exact body bytes and its leaf hash.

    ``seq`` is contiguous from 0; the database refuses any insert that is not the next number.
    """

    seq = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="entry")
    body = models.BinaryField()
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "ledger entries"
        constraints = [models.CheckConstraint(condition=models.Q(seq__gte=0), name="audit_ledgerentry_seq_non_negative")]

    def __str__(self) -> str:
        return f"seq {self.seq} (event #{self.event_id})"


class LedgerNode(models.Model):
    """Hash of a complete subtree: leaves ``[index * 2**level, (index + 1) * 2**level)``.

    Stored once, when its last leaf is appended, for ``level >= STORED_MIN_LEVEL``, so roots and
    proofs never rehash the log.
    """

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        ordering = ["level", "index"]
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="audit_ledgernode_unique_position"),
            models.CheckConstraint(condition=models.Q(level__gte=STORED_MIN_LEVEL), name="audit_ledgernode_stored_levels"),
        ]

    def __str__(self) -> str:
        return f"node L{self.level}#{self.index}"


class Checkpoint(models.Model):
    """A signed C2SP checkpoint of the log at ``tree_size``: the exact note as served.

    The note is signed with the Ed25519 key from ``CUSTOS_LEDGER_KEY_FILE``, which never enters
    the database; ``key_id`` is the note key id (hex) for display and filtering only.
    """

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    note = models.TextField()
    key_id = models.CharField(max_length=8)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["tree_size"]
        get_latest_by = "tree_size"

    def __str__(self) -> str:
        return f"checkpoint @{self.tree_size}"
