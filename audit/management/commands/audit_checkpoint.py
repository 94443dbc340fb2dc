"""``manage.py audit_checkpoint``: sign and store a checkpoint of the current log, print its note."""

from django.core.management.base import BaseCommand, CommandError

from audit.keys import LedgerKeyMissing
from audit.services import CheckpointRefused, checkpoint_create


class Command(BaseCommand):
    help = "Sign and store a checkpoint (C2SP signed note) of the current audit log and print it."

    def handle(self, *args, **options):
        try:
            checkpoint = checkpoint_create(actor="audit_checkpoint")
        except (LedgerKeyMissing, CheckpointRefused) as exc:
            raise CommandError(str(exc))
        self.stdout.write(checkpoint.note, ending="")
