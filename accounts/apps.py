from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users, roles and API tokens"

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  (login/logout audit events)
        from accounts.api import schema  # noqa: F401  (registers the OpenAPI auth extension)
