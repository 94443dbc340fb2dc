from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "compliance.policies"
    label = "policies"
