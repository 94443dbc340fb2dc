"""``--user`` for the commands of compliance.policies (anonymize, compliance_evaluate,
retention_enforce, policy_keys).

With ``--user NAME`` a command acts as that user and gets the role matrix (the same answer as the
API, the admin and the tasks: the services check it). Without it the command is the trusted system
caller (an operator with shell and database access), recorded as ``cli:<command>``. A refusal or
an unknown user is a one-line ``CommandError`` (exit status 1), never a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError

from core.types import Actor


def add_user_argument(parser) -> None:
    parser.add_argument("--user", help="act as this user, under the role matrix (default: the command itself)")


def actor_for(user: str | None, command: str) -> Actor | str:
    if not user:
        return f"cli:{command}"
    from accounts.models import User

    actor = User.objects.filter(username=user, is_active=True).first()
    if actor is None:
        raise CommandError("no such active user (--user)")
    return actor


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Refusals and validation errors of the services as one-line command errors."""
    try:
        yield
    except PermissionDenied as exc:
        raise CommandError(f"refused: {exc}") from exc
    except ValidationError as exc:
        raise CommandError("; ".join(exc.messages)) from exc
