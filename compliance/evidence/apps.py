from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "compliance.evidence"
    label = "evidence"
    verbose_name = "Evidence bundles"
