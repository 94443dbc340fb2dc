from django.db import models


class Role(models.TextChoices):
    """What a person or service may do. See accounts.permissions.ROLE_ACTIONS for the matrix."""

    ADMIN = "admin", "Admin"
    STEWARD = "steward", "Data steward"
    AUDITOR = "auditor", "Auditor"
    SERVICE = "service", "Service"
    VIEWER = "viewer", "Viewer"
