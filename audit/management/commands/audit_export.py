"""``manage.py audit_export --out FILE [--from-seq A] [--to-seq B]``: the log as JSON lines.

One line per entry, ``{"seq": n, "body": "<base64>", "leaf_hash": "<base64>"}``, in seq order,
``A`` and ``B`` inclusive. ``body`` is the exact hashed bytes, so any tool can recompute the tree.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.models import LedgerEntry
from audit.services import record
from audit.verify_core import b64


class Command(BaseCommand):
    help = "Export ledger entries as JSON lines with base64 bodies and leaf hashes."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True)
        parser.add_argument("--from-seq", type=int, default=0)
        parser.add_argument("--to-seq", type=int, default=None)

    def handle(self, *args, out, from_seq=0, to_seq=None, **options):
        if from_seq < 0 or (to_seq is not None and to_seq < from_seq):
            raise CommandError("need 0 <= --from-seq <= --to-seq")
        entries = LedgerEntry.objects.filter(seq__gte=from_seq).order_by("seq")
        if to_seq is not None:
            entries = entries.filter(seq__lte=to_seq)
        count = 0
        with open(out, "w", encoding="ascii") as handle:
            for seq, body, leaf in entries.values_list("seq", "body", "leaf_hash").iterator(chunk_size=5000):
                handle.write(json.dumps({"seq": seq, "body": b64(bytes(body)), "leaf_hash": b64(bytes(leaf))}) + "\n")
                count += 1
        with transaction.atomic():  # an export is a read of the whole record: it is itself audited
            record(
                actor="audit_export",
                action="audit.ledger.export",
                target_type="audit.ledger",
                target_id="entries",
                details={"from_seq": from_seq, "to_seq": to_seq, "count": count},
            )
        self.stderr.write(f"exported {count} entries to {out}")
