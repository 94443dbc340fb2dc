from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self):
        from core import pages

        pages.nav_item("catalog:home", "Catalog", order=10)
