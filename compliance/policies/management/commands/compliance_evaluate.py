"""``manage.py compliance_evaluate [--regulation gdpr|hipaa|ccpa] [--json]``: evaluate the estate
and print the open findings (rule, article, target, evidence, fix) and the posture per regulation."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from compliance.policies import selectors
from compliance.policies.actions.evaluate import evaluate_all
from compliance.policies.choices import SEVERITY_RANK, FindingStatus
from compliance.policies.cli import actor_for, add_user_argument, one_line_errors
from compliance.policies.models import Finding, RegulationPack


class Command(BaseCommand):
    help = "Evaluate every asset and model version against the regulation packs and print the findings."

    def add_arguments(self, parser):
        parser.add_argument("--regulation", help="gdpr, hipaa, ccpa or an installed pack's code")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--no-refresh", action="store_true", help="print the stored findings without re-evaluating")
        add_user_argument(parser)

    def handle(self, *args, regulation=None, json=False, no_refresh=False, user=None, **options):
        actor = actor_for(user, "compliance_evaluate")
        if regulation and not RegulationPack.objects.filter(code=regulation).exists():
            codes = ", ".join(RegulationPack.objects.values_list("code", flat=True))
            raise CommandError(f"unknown regulation {regulation!r}; installed: {codes}")
        if not no_refresh:
            with one_line_errors():
                evaluate_all(actor=actor)
        findings = Finding.objects.filter(status=FindingStatus.OPEN).select_related(
            "rule", "asset__source", "model_version__model"
        )
        if regulation:
            findings = findings.filter(regulation=regulation)
        rows = sorted(findings, key=lambda f: (-SEVERITY_RANK[f.severity], f.regulation, f.rule.code, f.pk))
        posture = selectors.posture(regulation=regulation, user=None if isinstance(actor, str) else actor)
        if json:
            self.stdout.write(_dumps({"posture": posture, "findings": [_finding(f) for f in rows]}))
            return
        for code, summary in posture.items():
            self.stdout.write(
                self.style.MIGRATE_HEADING(
                    f"{summary['name']} ({code} {summary['version']}): {summary['assets_compliant']}/{summary['assets_in_scope']} assets compliant, "
                    f"{summary['open_findings']} open finding(s) "
                    + ", ".join(f"{k}={v}" for k, v in summary["by_severity"].items() if v)
                )
            )
        for f in rows:
            self.stdout.write(f"[{f.severity.upper():<8}] {f.rule.code}  ({f.citation})")
            self.stdout.write(f"           {_target(f)}: {f.message}")
            columns = [c.get("column") for c in f.evidence.get("columns", [])] if isinstance(f.evidence, dict) else []
            if columns:
                self.stdout.write(f"           columns: {', '.join(columns)}")
            self.stdout.write(f"           fix: {f.fix}")
        if not rows:
            self.stdout.write(self.style.SUCCESS("no open findings"))


def _target(f: Finding) -> str:
    return f"asset {f.asset_id} {f.asset}" if f.asset_id else f"model version {f.model_version_id} {f.model_version}"


def _finding(f: Finding) -> dict:
    return {
        "id": f.pk,
        "rule": f.rule.code,
        "regulation": f.regulation,
        "severity": f.severity,
        "citation": f.citation,
        "title": f.rule.title,
        "target": {"type": "asset", "id": f.asset_id, "name": str(f.asset)}
        if f.asset_id
        else {"type": "model_version", "id": f.model_version_id, "name": str(f.model_version)},
        "message": f.message,
        "evidence": f.evidence,
        "fix": f.fix,
        "first_seen": f.first_seen.isoformat(),
    }


def _dumps(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str)
