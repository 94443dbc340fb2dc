"""``manage.py policy_keys [--rotate]``: list the policy key ring, or add a key and make it active."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from compliance.access.tokens import key_rotate
from compliance.policies import keys
from compliance.policies.cli import actor_for, add_user_argument, one_line_errors


class Command(BaseCommand):
    help = "List or rotate the keys used for HMAC tokens, AES-SIV/GCM encryption and date shifts."

    def add_arguments(self, parser):
        parser.add_argument("--rotate", action="store_true")
        add_user_argument(parser)

    def handle(self, *args, rotate=False, user=None, **options):
        ring = keys.keyring()
        if rotate:
            with one_line_errors():
                kid = key_rotate(actor=actor_for(user, "policy_keys"), reason="manage.py policy_keys --rotate")
            self.stdout.write(self.style.SUCCESS(f"new active key {kid}"))
        try:
            active = ring.active_kid()
        except keys.KeyError_:
            active = None
        for kid in ring.kids():
            self.stdout.write(f"{'*' if kid == active else ' '} {kid}")
        if not ring.kids():
            self.stdout.write(f"no keys in {ring.directory}")
