"""``manage.py demo_setup``: everything ``make demo`` needs before serving.

Migrates, copies the demo data to ``var/demo-data/`` (never served from ``fixtures/``), creates the ledger signing key when the audit app offers ``audit_keygen``, collects static
files (admin and the offline API page need them when DEBUG is off), loads the demo catalog and
prints the demo logins and where to go. Safe to run again: each step is idempotent.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from config.env import write_profile_marker
from demo.data import demo_data_prepare
from demo.management.commands.demo_load import demo_load, format_logins

URLS = [
    ("Catalog", "/"),
    ("Admin (stewards)", "/admin/"),
    ("API docs (offline Swagger UI)", "/api/docs/"),
    ("REST API (assets)", "/api/v1/assets/"),
]


class Command(BaseCommand):
    help = "Migrate, create the ledger key, collect static files and load the demo catalog; prints logins and URLs."

    def add_arguments(self, parser):
        parser.add_argument("--no-static", action="store_true", help="Skip collectstatic.")
        parser.add_argument("--no-scan", action="store_true", help="Do not run the PII scanner on the demo files.")
        parser.add_argument(
            "--reset-data", action="store_true", help="Copy fixtures/data/ over the working copies in var/demo-data/ again."
        )
        parser.add_argument("--host", default="127.0.0.1:8000", help="Where `make demo` serves (for the printed URLs).")

    def handle(self, *args, no_static: bool, no_scan: bool, host: str, reset_data: bool = False, **options):
        if settings.CUSTOS_ENV == "production":
            raise CommandError("demo_setup is for CUSTOS_ENV=demo or development; it creates users with known passwords")
        verbosity = max(0, options.get("verbosity", 1) - 1)
        write_profile_marker(settings.VAR_DIR, settings.CUSTOS_ENV)  # later commands default to this profile
        self.stdout.write("Migrating the database ...")
        call_command("migrate", interactive=False, verbosity=verbosity, stdout=self.stdout, stderr=self.stderr)
        if "audit_keygen" in get_commands():
            self.stdout.write("Checking the ledger signing key ...")
            try:
                call_command("audit_keygen", verbosity=verbosity, stdout=self.stdout, stderr=self.stderr)
            except CommandError as exc:  # e.g. a key exists already: the demo keeps using it
                self.stdout.write(f"  audit_keygen: {exc}")
        if not no_static:
            self.stdout.write("Collecting static files ...")
            call_command("collectstatic", interactive=False, verbosity=0, stdout=self.stdout, stderr=self.stderr)
        target, copied = demo_data_prepare(reset=reset_data)
        self.stdout.write(f"Demo data: {copied} file(s) copied to {target} (the catalog points at these copies)")
        self.stdout.write("Loading the demo catalog ...")
        report = demo_load(scan=not no_scan)
        if report.total:
            self.stdout.write(self.style.SUCCESS(f"  created {report.summary()}"))
        else:
            self.stdout.write(self.style.SUCCESS("  already loaded: nothing to do"))
        for line in report.integrations:
            self.stdout.write(f"  {line}")
        self.stdout.write("")
        for line in format_logins(report):
            self.stdout.write(line)
        self.stdout.write("")
        self.stdout.write("Open:")
        for label, path in URLS:
            self.stdout.write(f"  {label:<31} http://{host}{path}")
        self.stdout.write("API token for a service: manage.py token_create service --role service")
