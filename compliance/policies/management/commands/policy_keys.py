"""``manage.py policy_keys [--rotate]``: list the policy key ring, or add a key and make it active."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from compliance.policies import keys
from compliance.policies.services import COMPONENT, key_rotate


class Command(BaseCommand):
    help = "List or rotate the keys used for HMAC tokens, AES-SIV/GCM encryption and date shifts."

    def add_arguments(self, parser):
        parser.add_argument("--rotate", action="store_true")

    def handle(self, *args, rotate=False, **options):
        ring = keys.keyring()
        if rotate:
            kid = key_rotate(actor=COMPONENT, reason="manage.py policy_keys --rotate")
            self.stdout.write(self.style.SUCCESS(f"new active key {kid}"))
        try:
            active = ring.active_kid()
        except keys.KeyError_:
            active = None
        for kid in ring.kids():
            self.stdout.write(f"{'*' if kid == active else ' '} {kid}")
        if not ring.kids():
            self.stdout.write(f"no keys in {ring.directory}")
