from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared pieces: base viewsets, abstract ``Run``, ``Actor``, ``ReadOnlyAdmin``. No concrete models."""

    name = "core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import checks  # noqa: F401 - registers core.W001
