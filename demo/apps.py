from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo catalog loader: the one app allowed to import every other (last in INSTALLED_APPS)."""

    name = "demo"
    verbose_name = "Demo"
