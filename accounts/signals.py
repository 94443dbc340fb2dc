"""Login and logout audit events. Django fires these inside the request that logs in."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from audit.services import record


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    with transaction.atomic():
        record(actor=user, action="accounts.login", target=user)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        with transaction.atomic():
            record(actor=user, action="accounts.logout", target=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    # The attempted username may itself be personal data: keep only that an attempt failed.
    with transaction.atomic():
        record(actor=None, action="accounts.login_failed", target_type="accounts.user", target_id="unknown")


@receiver(user_locked_out)
def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    """django-axes locked a username + IP pair out (docs/operations.md "Brute force").

    The event names the account by id when the username is one (else ``unknown``), never the
    typed username, the IP address or anything from the form (the password least of all)."""
    from django.conf import settings

    from accounts.models import User

    user_id = User.objects.filter(username=username).values_list("pk", flat=True).first() if username else None
    path = getattr(request, "path", "") or ""
    with transaction.atomic():
        record(
            actor=None,
            action="accounts.login_locked_out",
            target_type="accounts.user",
            target_id=str(user_id) if user_id is not None else "unknown",
            details={
                "login": "admin" if path.startswith("/admin/") else "accounts",
                "failure_limit": settings.AXES_FAILURE_LIMIT,
                "cooloff_minutes": round(settings.AXES_COOLOFF_TIME * 60),
            },
        )
