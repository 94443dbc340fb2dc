from django.apps import AppConfig


class LineageConfig(AppConfig):
    name = "lineage"
    verbose_name = "Lineage and provenance"

    def ready(self) -> None:
        from lineage import receivers  # noqa: F401  (catalog signals -> propagation, model links)
