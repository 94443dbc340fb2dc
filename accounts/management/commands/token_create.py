"""``manage.py token_create USERNAME --role ROLE``: print a new API token on stdout, nothing else."""

from django.core.management.base import BaseCommand, CommandError

from accounts.choices import Role
from accounts.services import token_create, user_ensure


class Command(BaseCommand):
    help = "Create USERNAME if needed (with --role) and print a new API token for it on stdout."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--days", type=int, default=None, help="Lifetime in days (0: never expires).")
        parser.add_argument("--name", default="", help="A label for the token.")

    def handle(self, *args, username, role, days, name, **options):
        actor = "cli:token_create"
        user = user_ensure(username=username, role=role, actor=actor)
        if user.role != role and not user.is_superuser:
            raise CommandError(f"user {username!r} exists with role {user.role!r}, not {role!r}")
        _, raw = token_create(user=user, actor=actor, name=name, days=days)
        self.stdout.write(raw)
