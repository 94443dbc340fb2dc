"""Permission scoping for accounts-level models; the one implementation is core's.

``RestrictedQuerySet.restrict(user, action)`` -- see core/querysets.py. Kept under this name
because catalog and compliance querysets extend it.
"""

from core.querysets import RestrictedQuerySet

__all__ = ["RestrictedQuerySet"]
