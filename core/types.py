"""Named types that cross app boundaries."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Actor(Protocol):
    """The acting user a service receives as ``actor=``.

    ``accounts.User`` satisfies it; so does Django's ``AnonymousUser`` for the attributes a
    permission check reads (``is_authenticated`` False, no role), which services then refuse.
    """

    pk: object
    username: str
    is_authenticated: bool
    is_active: bool
    is_superuser: bool

    @property
    def role(self) -> str | None: ...
