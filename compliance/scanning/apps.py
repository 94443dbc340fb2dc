from django.apps import AppConfig


class ScanningConfig(AppConfig):
    name = "compliance.scanning"
    label = "scanning"
