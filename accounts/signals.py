"""Login and logout audit events. Django fires these inside the request that logs in."""

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
