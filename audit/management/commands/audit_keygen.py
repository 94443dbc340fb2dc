"""``manage.py audit_keygen [--out PATH] [--force]``: write a new Ed25519 checkpoint signing key.

A no-op (exit 0, with a message) when the key file exists, unless ``--force``, which rotates:
the old public key is appended to the trusted keys file first, so old checkpoints keep verifying.
"""

from pathlib import Path

from django.core.management.base import BaseCommand

from audit.keys import generate_key, key_path


class Command(BaseCommand):
    help = "Write a new checkpoint signing key (C2SP note key) to CUSTOS_LEDGER_KEY_FILE or --out."

    def add_arguments(self, parser):
        parser.add_argument("--out", help="key file to write (default: CUSTOS_LEDGER_KEY_FILE)")
        parser.add_argument("--force", action="store_true", help="replace an existing key (rotation)")
        parser.add_argument("--name", help="key name (default: CUSTOS_LEDGER_ORIGIN)")

    def handle(self, *args, out=None, force=False, name=None, **options):
        path = Path(out) if out else key_path()
        try:
            signer, retired = generate_key(path=path, name=name, force=force)
        except FileExistsError:
            self.stdout.write(f"ledger key {path} already exists; keeping it (use --force to rotate)")
            return
        if retired:
            self.stdout.write(f"retired key kept as trusted: {retired}")
        self.stdout.write(f"wrote ledger key {path}")
        self.stdout.write(f"public key (vkey): {signer.verifier.vkey}")
