"""Fairness findings: a fairness check of a model version that fails becomes a finding with its evidence,
kept like policy findings (compliance.policies: opened, refreshed, resolved, one per fingerprint), and,
when the check ran on the version's production batches, a monitoring alert (``monitoring.services.
sync_alerts``, the alert service every monitor run uses).

The checks read a stored assessment's report (``fairness.FairnessReport.as_dict``), per attribute (or
per intersection of attributes):

* ``four_fifths``: lowest / highest selection rate below 0.8 (the EEOC screening rule). Severity
  ``high`` when the two-proportion test beside it is significant and neither group is small,
  ``medium`` otherwise (a screen, not a finding of discrimination: the message says which).
* ``demographic_parity_difference``, ``equalized_odds_difference``, ``equal_opportunity_difference``:
  failed above a limit the caller gives (``limits``); ``medium``. Difference metrics that need labels
  are not tested without them (null), and a check not tested never resolves a finding.

Contract of ``fairness_findings_sync`` (called inside ``fairness_assess``'s transaction): a failing
check opens a finding, or refreshes the open one (new assessment, evidence, message), or reopens a
resolved one; a check the assessment tested and passed resolves the open one. Audited as
``explain.fairness_findings`` with the counts and finding ids when a finding changed.

``services.fairness_check_production`` (ADD): the fairness of a model version's logged prediction
batches (``production_frame``: each batch checked against its recorded SHA-256 before it is read,
labels joined by id from label batches), stored as an assessment through ``services.
fairness_assess_frame`` (the one service both entry points end in), findings synced, and per monitor
of the version one run of trigger ``fairness`` whose results (kind ``fairness``) open and resolve
alerts through ``sync_alerts`` (``feed_alerts``; ``FEED_ALERTS`` says why that is safe).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit import services as audit
from compliance.policies.choices import FindingStatus, Severity
from core.types import Actor

from .fairness import FOUR_FIFTHS
from .models import FairnessAssessment, FairnessFinding

CITATION = (
    "EU AI Act Art. 10(2)(f)-(g) (examination of possible biases and measures to detect and mitigate them); "
    "EEOC Uniform Guidelines 29 CFR 1607.4(D) (four-fifths rule)"
)
DIFFERENCE_METRICS = ("demographic_parity_difference", "equalized_odds_difference", "equal_opportunity_difference")


@dataclass(frozen=True)
class CheckOutcome:
    """One fairness check on one attribute (or intersection) of one assessment."""

    check: str
    attribute: str
    value: float | None
    limit: float
    failed: bool
    severity: str
    message: str
    evidence: dict

    @property
    def subject(self) -> str:
        """The alert subject: check and attribute (no group values)."""
        return f"{self.check} [{self.attribute}]"[:200]


def _groups_evidence(report: dict) -> list[dict]:
    keep = ("group", "n", "selection_rate", "tpr", "fpr", "small")
    return [{k: g.get(k) for k in keep} for g in report.get("groups", [])]


def report_checks(report: dict, *, attribute: str, limits: dict[str, float] | None = None) -> list[CheckOutcome]:
    """The checks of one attribute's report (see the module docstring)."""
    out = []
    base = {"n": report.get("n"), "groups": _groups_evidence(report), "min_group_size": report.get("min_group_size")}
    ff = report.get("four_fifths") or {}
    if ff.get("ratio") is not None:
        significant = bool(ff.get("significant")) and not ff.get("small_group_involved")
        failed = bool(ff.get("flag"))
        if failed:
            strength = (
                f"the difference is significant ({ff.get('test')}, p = {ff.get('p_value'):.3g})"
                if significant
                else "the difference is not shown significant"
                + (" and a small group is involved" if ff.get("small_group_involved") else "")
                + f" ({ff.get('test')}, p = {ff.get('p_value'):.3g}): a screening flag to review"
            )
            message = (
                f"four-fifths rule failed for {attribute}: selection-rate ratio {ff['ratio']:.3f} of the lowest to the "
                f"highest group is below {ff.get('threshold', FOUR_FIFTHS):g}; {strength}"
            )
        else:
            message = f"four-fifths rule met for {attribute}: ratio {ff['ratio']:.3f}"
        out.append(
            CheckOutcome(
                check="four_fifths",
                attribute=attribute,
                value=float(ff["ratio"]),
                limit=float(ff.get("threshold", FOUR_FIFTHS)),
                failed=failed,
                severity=Severity.HIGH if significant else Severity.MEDIUM,
                message=message,
                evidence={
                    **base,
                    "metric": "demographic_parity_ratio (lowest / highest selection rate)",
                    "value": float(ff["ratio"]),
                    "limit": float(ff.get("threshold", FOUR_FIFTHS)),
                    "lowest": ff.get("lowest"),
                    "highest": ff.get("highest"),
                    "test": ff.get("test"),
                    "p_value": ff.get("p_value"),
                    "significant": ff.get("significant"),
                    "alpha": ff.get("alpha"),
                    "small_group_involved": ff.get("small_group_involved"),
                },
            )
        )
    for metric, limit in sorted((limits or {}).items()):
        if metric not in DIFFERENCE_METRICS:
            raise ValidationError({"limits": f"unknown metric {metric!r}; choose among {', '.join(DIFFERENCE_METRICS)}"})
        value = report.get(metric)
        if value is None:  # needs labels: not tested
            continue
        failed = float(value) > float(limit)
        out.append(
            CheckOutcome(
                check=metric,
                attribute=attribute,
                value=float(value),
                limit=float(limit),
                failed=failed,
                severity=Severity.MEDIUM,
                message=f"{metric.replace('_', ' ')} for {attribute} is {float(value):.3f}, "
                + ("above" if failed else "within")
                + f" the limit {float(limit):g}",
                evidence={**base, "metric": metric, "value": float(value), "limit": float(limit)},
            )
        )
    return out


def assessment_checks(assessment: FairnessAssessment, *, limits: dict[str, float] | None = None) -> list[CheckOutcome]:
    """Every check of a stored assessment: per attribute when it was assessed attribute by attribute
    (``by_attribute``), else on its (possibly intersectional) groups."""
    report = assessment.report
    if "by_attribute" in report:
        return [c for name, r in report["by_attribute"].items() for c in report_checks(r, attribute=name, limits=limits)]
    return report_checks(report, attribute=" & ".join(assessment.attributes), limits=limits)


def _fingerprint(model_version_id: int, outcome: CheckOutcome) -> str:
    return f"fairness|model_version:{model_version_id}|{outcome.attribute}|{outcome.check}"[:400]


def fairness_findings_sync(
    *, actor: Actor, assessment: FairnessAssessment, limits: dict[str, float] | None = None
) -> tuple[dict[str, int], list[tuple[CheckOutcome, FairnessFinding | None]]]:
    """Open, refresh, reopen and resolve the findings of ``assessment``'s model version from its checks
    (see the module docstring). Runs in the caller's transaction. Returns the counts and, per check,
    the finding it opened, refreshed or resolved (None for a check that passed with no finding)."""
    version = assessment.model_version
    if version is None:
        return {"checks": 0, "opened": 0, "reopened": 0, "updated": 0, "resolved": 0}, []
    outcomes = assessment_checks(assessment, limits=limits)
    now = timezone.now()
    counts = {"checks": len(outcomes), "opened": 0, "reopened": 0, "updated": 0, "resolved": 0}
    touched: list[tuple[CheckOutcome, FairnessFinding | None]] = []
    changed_ids = []
    for outcome in outcomes:
        fingerprint = _fingerprint(version.pk, outcome)
        finding = FairnessFinding.objects.select_for_update().filter(fingerprint=fingerprint).first()
        evidence = {
            **outcome.evidence,
            "assessment": assessment.pk,
            "dataset_sha256": assessment.dataset_sha256,
            "source": assessment.location_label,
        }
        if outcome.failed:
            if finding is None:
                finding = FairnessFinding(model_version=version, fingerprint=fingerprint, first_seen=now)
                counts["opened"] += 1
            elif finding.status == FindingStatus.RESOLVED:
                counts["reopened"] += 1
            else:
                counts["updated"] += 1
            finding.assessment = assessment
            finding.attribute, finding.check_name = outcome.attribute[:300], outcome.check
            finding.severity, finding.citation, finding.message = outcome.severity, CITATION, outcome.message
            finding.evidence, finding.status, finding.resolved_at, finding.last_seen = evidence, FindingStatus.OPEN, None, now
            finding.full_clean(exclude=["model_version", "assessment", "alert"], validate_unique=False)
            finding.save()
            changed_ids.append(finding.pk)
        elif finding is not None and finding.status == FindingStatus.OPEN:
            finding.status, finding.resolved_at, finding.last_seen = FindingStatus.RESOLVED, now, now
            finding.assessment = assessment
            finding.evidence = {**finding.evidence, "resolved_by_assessment": assessment.pk, "passed": evidence}
            finding.save(update_fields=["status", "resolved_at", "last_seen", "assessment", "evidence"])
            counts["resolved"] += 1
            changed_ids.append(finding.pk)
        touched.append((outcome, finding))
    if changed_ids:
        audit.record(
            actor=actor,
            action="explain.fairness_findings",
            target=assessment,
            details={"model_version": version.pk, **counts, "findings": sorted(changed_ids)},
        )
    return counts, touched


# --- production batches ----------------------------------------------------------------------------


def production_frame(*, actor: Actor, model_version, columns: list[str], label: str | None, batch_ids: list[int] | None):
    """The logged prediction batches' ``columns`` (and ``label``, read from the prediction batches or
    joined by id from the label batches), every batch checked against its recorded SHA-256."""
    from monitoring.choices import BatchKind
    from monitoring.selectors import batch_list

    from .decisions import _batch_rows, output_columns, version_visible

    if not version_visible(actor, model_version):
        raise ValidationError("no such model version")
    names = output_columns(model_version)
    visible = batch_list(user=actor).filter(model_version=model_version)
    predictions = visible.filter(kind=BatchKind.PREDICTIONS).order_by("received_at", "id")
    if batch_ids is not None:
        predictions = predictions.filter(pk__in=batch_ids)
    predictions = list(predictions)
    if not predictions:
        raise ValidationError("the model version has no visible logged prediction batch")
    frames = []
    for batch in predictions:
        missing = [c for c in columns if c not in batch.columns]
        if missing:
            raise ValidationError(f"logged batch {batch.pk} has no column(s) {', '.join(missing)}")
        rows = _batch_rows(batch, names["id"]).frame
        keep = list(dict.fromkeys([*columns, *([label] if label and label in rows.columns else []), names["id"]]))
        frames.append(rows[[c for c in keep if c in rows.columns]])
    frame = pd.concat(frames, ignore_index=True)
    if label and label not in frame.columns:
        labels = []
        for batch in visible.filter(kind=BatchKind.LABELS).order_by("received_at", "id"):
            if label in batch.columns and names["id"] in batch.columns:
                labels.append(_batch_rows(batch, names["id"]).frame[[names["id"], label]])
        if not labels:
            raise ValidationError(f"no logged batch holds the label column {label!r}")
        joined = pd.concat(labels, ignore_index=True).drop_duplicates(subset=[names["id"]], keep="last")
        frame = frame.merge(joined, on=names["id"], how="inner")
        if frame.empty:
            raise ValidationError("no logged prediction has a logged label yet")
    return frame.drop(columns=[names["id"]] if names["id"] not in columns else []), predictions


#: Whether production checks feed monitoring alerts. On: monitoring skips runs with trigger
#: ``fairness`` wherever it reads a monitor's latest window (``monitoring.models.window_q``:
#: ``services.runs.new_batches``, ``/metrics``, the panels, the version page,
#: ``selectors.feature_distribution``), so a fairness run hides no batch from the monitor's next drift
#: run (``tests/monitoring/explain/test_fairness_alerts.py`` checks both).
FEED_ALERTS = True
NOT_FED = "not fed: monitoring would read a fairness run as the monitor's latest window"


def alerts_supported() -> bool:
    """Whether production checks feed alerts: monitoring knows the ``fairness`` result kind
    (``monitoring.choices.ResultKind``, migration monitoring 0004) and ``FEED_ALERTS`` is on. When
    not, production checks open findings but no alert (the assessment's audit event says so)."""
    from monitoring.choices import ResultKind

    return FEED_ALERTS and ResultKind.FAIRNESS in ResultKind.values


def feed_alerts(*, actor: Actor, assessment: FairnessAssessment, batches, touched) -> list:
    """Per monitor of the assessment's version: a run (trigger ``fairness``) over ``batches`` whose
    results are the checks, then ``sync_alerts`` opens alerts for failed checks and resolves those a
    passing check tested. In the caller's transaction. Returns the alerts touched (none while
    ``alerts_supported()`` is false)."""
    from core.choices import RunStatus
    from monitoring.choices import ResultKind
    from monitoring.models import Monitor, MonitorResult, MonitorRun
    from monitoring.services import sync_alerts

    if not alerts_supported():
        return []
    alerts = []
    for monitor in Monitor.objects.filter(model_version=assessment.model_version).order_by("id"):
        now = timezone.now()
        run = MonitorRun.objects.create(
            monitor=monitor,
            trigger="fairness",
            status=RunStatus.SUCCEEDED,
            started_by=assessment.created_by,
            started_at=now,
            finished_at=now,
            batch_ids=[b.pk for b in batches],
            rows=assessment.n,
            current_sha256=assessment.dataset_sha256,
            summary={"fairness_assessment": assessment.pk, "flagged": sum(1 for o, _ in touched if o.failed)},
        )
        results = []
        for outcome, _finding in touched:
            result = MonitorResult(
                run=run,
                kind=ResultKind.FAIRNESS,
                name=outcome.subject,
                method=outcome.check,
                score=outcome.value,
                threshold=outcome.limit,
                threshold_source="four-fifths rule" if outcome.check == "four_fifths" else "limit given to the check",
                flagged=outcome.failed,
                details={"assessment": assessment.pk, "severity": outcome.severity},
            )
            result.full_clean()
            result.save()
            results.append(result)
        audit.record(
            actor=actor,
            action="monitoring.run_finish",
            target=run,
            details={
                "monitor": monitor.pk,
                "trigger": "fairness",
                "results": len(results),
                "flagged": sum(r.flagged for r in results),
                "fairness_assessment": assessment.pk,
                "current_sha256": run.current_sha256,
            },
        )
        touched_alerts = sync_alerts(actor=actor, run=run, results=results)
        by_subject = {a.subject: a for a in touched_alerts}
        for outcome, finding in touched:
            alert = by_subject.get(outcome.subject)
            if finding is not None and alert is not None and outcome.failed and finding.alert_id != alert.pk:
                finding.alert = alert
                finding.save(update_fields=["alert"])
        alerts += touched_alerts
    return alerts


__all__ = [
    "alerts_supported",
    "CheckOutcome",
    "assessment_checks",
    "fairness_findings_sync",
    "feed_alerts",
    "production_frame",
    "report_checks",
]
