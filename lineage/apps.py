from django.apps import AppConfig


class LineageConfig(AppConfig):
    name = "lineage"
    verbose_name = "Lineage and provenance"

    def ready(self) -> None:
        from lineage import (
            panels,  # noqa: F401 - registers page panels (core.pages)
            receivers,  # noqa: F401  (catalog signals -> propagation, model links)
        )
        from lineage.openlineage.context import IntakeCaches

        # This process's OpenLineage intake caches (resolved ids, applied facets): one object,
        # passed explicitly to every intake step (lineage.openlineage.context).
        self.intake_caches = IntakeCaches()
