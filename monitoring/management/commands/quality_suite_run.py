"""``manage.py quality_suite_run SUITE_ID [SUITE_ID ...] --user NAME [--json]``: run per-asset quality
suites now through ``monitoring.services.quality_suite_run`` (the role matrix and scoping of ``--user``
apply; the run, its results and alerts are stored and audited as that user). ``--due`` runs every suite
the monitoring tick would run now instead (as the system actor, like the tick, when no ``--user``).

``--json`` prints one document ``{"runs": [{"id", "suite", "status", "error", "rows", "failed",
"not_checked", "checks": [{"name", "score", "threshold", "failed", "rule"}]}]}``. Exit 0 when every run
finished (checks may fail); a failed run or bad input exits non-zero with one line on stderr.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run per-asset data-quality suites now (stored, alerted and audited)."

    def add_arguments(self, parser):
        parser.add_argument("suites", nargs="*", type=int, help="quality suite ids")
        parser.add_argument("--user", help="act as this user (role checks and scoping apply)")
        parser.add_argument("--due", action="store_true", help="every suite that is due now (schedule or changed file)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        from monitoring import selectors, services
        from monitoring.services.quality_suites import suites_due
        from monitoring.tasks import SYSTEM_ACTOR

        if bool(opts["suites"]) == bool(opts["due"]):
            raise CommandError("give suite ids or --due (not both)")
        actor = SYSTEM_ACTOR
        if opts["user"]:
            actor = get_user_model().objects.filter(username=opts["user"], is_active=True).first()
            if actor is None:
                raise CommandError("no such user (--user)")
        elif not opts["due"]:
            raise CommandError("suite ids need --user (the runs are stored and audited as that user)")
        if opts["due"]:
            todo = suites_due()
            if actor is not SYSTEM_ACTOR:
                visible = set(selectors.quality_suite_list(user=actor).values_list("pk", flat=True))
                todo = [(s, t) for s, t in todo if s.pk in visible]
        else:
            found = {s.pk: s for s in selectors.quality_suite_list(user=actor).filter(pk__in=opts["suites"])}
            missing = [str(pk) for pk in opts["suites"] if pk not in found]
            if missing:
                raise CommandError(f"no such quality suite: {', '.join(missing)}")
            todo = [(found[pk], "manual") for pk in opts["suites"]]
        runs = []
        for suite, trigger in todo:
            try:
                runs.append(services.quality_suite_run(actor=actor, suite=suite, trigger=trigger))
            except PermissionDenied as exc:
                raise CommandError(str(exc)) from None
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
        if opts["json"]:
            doc = {"runs": [self._doc(r) for r in runs]}
            self.stdout.write(json.dumps(doc))
        else:
            for r in runs:
                s = r.summary or {}
                self.stdout.write(
                    f"suite {r.suite_id} run {r.pk}: {r.status}"
                    + (
                        f", {s.get('failed', 0)} of {s.get('checks', 0)} checks failed"
                        if r.status == "succeeded"
                        else f": {r.error}"
                    )
                )
        failed = [r for r in runs if r.status != "succeeded"]
        if failed:
            raise CommandError(f"{len(failed)} run(s) failed: {failed[0].error}")

    @staticmethod
    def _doc(run) -> dict:
        s = run.summary or {}
        return {
            "id": run.pk,
            "suite": run.suite_id,
            "status": run.status,
            "error": run.error,
            "rows": run.rows,
            "failed": s.get("failed"),
            "not_checked": s.get("not_checked"),
            "checks": [
                {"name": c.name, "score": c.score, "threshold": c.threshold, "failed": c.flagged, "rule": c.threshold_source}
                for c in run.results.all()
            ],
        }
