from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"

    def ready(self) -> None:
        # The catalog may not import compliance; the datasets rule reaches it through this hook, so
        # asset_register/asset_update refuse a location the readers would refuse.
        from catalog.locations import register_location_validator
        from compliance import panels  # noqa: F401 - registers page panels (core.pages)
        from compliance.datasets.locations import remember_app_databases, validate_location

        remember_app_databases()
        register_location_validator(validate_location)
