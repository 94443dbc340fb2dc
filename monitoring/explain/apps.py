from django.apps import AppConfig


class ExplainConfig(AppConfig):
    """Sub-app of monitoring (as compliance.scanning is of compliance), with its own label."""

    name = "monitoring.explain"
    label = "explain"
    verbose_name = "Explanations and fairness"
