"""``manage.py mlflow_sync [--tracking-uri URL] [--model NAME ...] [--no-artifacts] [--user NAME] [--json]``

Import an MLflow model registry into the catalog (monitoring/explain/mlflow_sync.py, docs/explain.md
"MLflow registry sync"). ``--json`` prints ``{"server", "counts": {...}, "model_versions": [ids],
"artifacts": [ids], "problems": [...]}``. Without ``--user`` the sync runs as the system actor
``system:mlflow-sync``.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from monitoring.explain.mlflow_sync import MlflowError, mlflow_sync

SYSTEM_ACTOR = "system:mlflow-sync"


class Command(BaseCommand):
    help = "Import registered models, versions, stages, params, metrics and model files from an MLflow registry."

    def add_arguments(self, parser):
        parser.add_argument("--tracking-uri", help="http(s) URL of the tracking server (default CUSTOS_MLFLOW_TRACKING_URI)")
        parser.add_argument("--model", action="append", help="only this registered model (repeatable)")
        parser.add_argument("--no-artifacts", action="store_true", help="do not download model files")
        parser.add_argument("--user", help="run as this user (role checks apply); default the system actor")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        actor = SYSTEM_ACTOR
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError("no such user")
        try:
            report = mlflow_sync(
                actor=actor, tracking_uri=options["tracking_uri"], models=options["model"], artifacts=not options["no_artifacts"]
            )
        except (MlflowError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        doc = report.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(doc))
            return
        c = doc["counts"]
        self.stdout.write(
            f"{doc['server']}: {c['registered_models']} registered models, {c['versions_seen']} versions "
            f"({c['versions_created']} new, {c['versions_updated']} updated, {c['conflicts']} conflicts), "
            f"{c['artifacts_stored']} artifacts stored, {c['artifacts_refused']} refused"
        )
        for problem in doc["problems"]:
            self.stdout.write(f"  {problem}")
