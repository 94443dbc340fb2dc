"""People and services that use Custos, and the API tokens services authenticate with."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from accounts.choices import Role


class User(AbstractUser):
    """A person or a service account. ``role`` decides what it may do (accounts.permissions)."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        ordering = ["username"]
        constraints = [models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid")]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def can(self, action: str) -> bool:
        """Whether this user's role holds ``action`` (core.querysets and core.admin ask this)."""
        from accounts.permissions import user_can

        return user_can(self, action)


class ApiToken(models.Model):
    """A bearer token for a service. Only its SHA-256 digest is stored; the secret is shown once.

    Tokens are high-entropy random strings, so an unsalted digest is safe to look them up by.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, help_text="First characters of the token, to recognise it.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
