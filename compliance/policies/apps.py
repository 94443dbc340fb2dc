from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "compliance.policies"
    label = "policies"
    verbose_name = "Regulation packs and policies"

    def ready(self) -> None:
        from compliance.policies import receivers  # noqa: F401 - connects the catalog signal receivers
        from config.celery import app

        # Daily retention enforcement (each action audited; legal holds honoured).
        app.conf.beat_schedule.setdefault(
            "policies-retention-enforce",
            {"task": "policies.retention_enforce", "schedule": 24 * 3600.0, "kwargs": {"dry_run": False}},
        )
        # Lineage edges send no catalog signal: an hourly full evaluation catches upstream changes.
        app.conf.beat_schedule.setdefault("policies-evaluate-all", {"task": "policies.evaluate_all", "schedule": 3600.0})
