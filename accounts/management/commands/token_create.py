"""``manage.py token_create USERNAME --role ROLE``: print a new API token on stdout, nothing else."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.choices import Role
from accounts.services import token_create, user_ensure


class Command(BaseCommand):
    help = "Create USERNAME if needed (with --role) and print a new API token for it on stdout."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Lifetime in days, 1 to 3650 (default CUSTOS_TOKEN_DEFAULT_DAYS); a token always expires.",
        )
        parser.add_argument("--name", default="", help="A label for the token.")

    def handle(self, *args, username, role, days, name, **options):
        actor = "cli:token_create"
        if days is not None and days < 1:  # refuse before creating the user
            raise CommandError("--days must be at least 1: a token always expires")
        user = user_ensure(username=username, role=role, actor=actor)
        if user.role != role and not user.is_superuser:
            raise CommandError(f"user {username!r} exists with role {user.role!r}, not {role!r}")
        try:
            _, raw = token_create(user=user, actor=actor, name=name, days=days)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(raw)
