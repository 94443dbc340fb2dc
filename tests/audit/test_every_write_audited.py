"""The write-path audit test of every app, by observation rather than by listing functions.

While a day of Custos work runs through its real entry points (the API as a service, a steward, a
viewer and an auditor; the management commands), every row saved or deleted in a model of a Custos
app is recorded (Django's ``post_save``/``post_delete``). Each must be covered by an audit event:

* an event whose target is the row itself (``audit.services.target_type_of`` + pk), or
* for rows that are parts of another audited object, an event on that parent
  (``AUDITED_THROUGH``: a scan chunk is part of its scan run), or
* a row the ledger does not need, declared in ``NOT_AUDITED`` with the reason.

A new model, or a write path that forgets ``audit.services.record``, fails here without anyone
having listed the function. Rows written in bulk send no signal; they are found by comparing the
tables before and after. Not seen: in-place ``QuerySet.update()`` of existing rows (the catalog
and accounts forbid it on audited models, tests/audit/test_every_event.py). The ledger's own
tables are its own evidence and are not watched.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pandas as pd
import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models.signals import post_delete, post_save

from accounts.choices import Role
from audit.models import AuditEvent
from audit.services import target_type_of
from catalog.models import Classification
from compliance.evidence.models import EvidenceExport
from tests.monitoring.conftest import make_frame

pytestmark = pytest.mark.django_db

CUSTOS_APP_LABELS = {"accounts", "catalog", "lineage", "scanning", "policies", "evidence", "explain", "monitoring"}


def _intake_events(**lookup) -> list:
    from lineage.models import LineageEvent

    return list(LineageEvent.objects.filter(**lookup))


def _edge_origins(edge) -> list:
    """What an edge was written from: the intake events of its run, or, for an anonymization
    edge, the source asset whose ``lineage.anonymization.link`` event names the copy, or the model
    version of a training/evaluation link."""
    from catalog.models import Column, DataAsset, ModelVersion

    origins = _intake_events(run_id=edge.last_run.run_id) if edge.last_run_id else []
    if edge.kind == "anonymized":
        asset_id = edge.src_id if edge.src_type == "asset" else Column.objects.get(pk=edge.src_id).asset_id
        origins.append(DataAsset.objects.get(pk=asset_id))
    if edge.dst_type == "model_version":
        origins.append(ModelVersion.objects.get(pk=edge.dst_id))
    return origins


EDGE_ACTIONS = ("lineage.openlineage.ingest", "lineage.anonymization.link", "lineage.model_version.link")

# model label -> (the audited objects a row is part of or derived from, the action prefix(es) their
# event must carry). Lineage rows are derived from the raw OpenLineage events that carried them, which
# the ledger records one by one ("lineage.openlineage.ingest") or per batch ("..._batch", naming
# every event in its details); findings from the evaluation of their asset or model version.
AUDITED_THROUGH = {
    "scanning.ScanChunk": (lambda chunk: [chunk.run], "scanning."),
    "monitoring.MonitorResult": (lambda result: [result.run], "monitoring."),  # one result row per check of a run
    "lineage.Run": (lambda run: _intake_events(run_id=run.run_id), "lineage.openlineage.ingest"),
    "lineage.Job": (
        lambda job: _intake_events(job_namespace=job.namespace, job_name=job.name),
        "lineage.openlineage.ingest",
    ),
    "lineage.Edge": (_edge_origins, EDGE_ACTIONS),
    "policies.Finding": (lambda finding: [finding.asset or finding.model_version], "policies.evaluate"),
}

# model label -> why the ledger does not need an event for this row
NOT_AUDITED = {
    "lineage.GraphState": "a cache of the graph's version counter, rebuilt from the edges",
    "lineage.DatasetFacets": "the latest facets of an asset as sent in intake events, which the ledger records raw",
}


def _watched_models():
    return [m for m in apps.get_models() if m._meta.app_label in CUSTOS_APP_LABELS and not m.__name__.startswith("Historical")]


def rows_now() -> dict[type, set]:
    return {model: set(model.objects.values_list("pk", flat=True)) for model in _watched_models()}


def rows_added(before: dict[type, set]) -> list[tuple[str, object]]:
    """Rows that exist now and did not before: also those written in bulk, which send no signal
    (lineage intake writes through core.bulk)."""
    added = []
    for model, pks in before.items():
        for obj in model.objects.exclude(pk__in=pks):
            added.append((model._meta.label, obj))
    return added


@pytest.fixture
def writes():
    """Every (model label, instance) saved or deleted while the test runs, in order (rows
    written in bulk are added by comparing the tables, ``rows_added``)."""
    seen: list[tuple[str, object]] = []

    def record(sender, instance, raw=False, **kwargs):
        label = sender._meta.label
        if raw or sender._meta.app_label not in CUSTOS_APP_LABELS or sender.__name__.startswith("Historical"):
            return
        seen.append((label, instance))

    post_save.connect(record, weak=False, dispatch_uid="audit-watch-save")
    post_delete.connect(record, weak=False, dispatch_uid="audit-watch-delete")
    yield seen
    post_save.disconnect(dispatch_uid="audit-watch-save")
    post_delete.disconnect(dispatch_uid="audit-watch-delete")


def unaudited(seen: list[tuple[str, object]], since: int) -> list[str]:
    events = list(AuditEvent.objects.filter(pk__gt=since).values_list("target_type", "target_id", "action", "details"))
    by_target = {(t, i) for t, i, _a, _d in events}
    by_target_action = {(t, i, a) for t, i, a, _d in events}
    for _t, _i, action, details in events:  # a batch intake names every event it took
        if action == "lineage.openlineage.ingest_batch":
            by_target_action |= {("lineage.lineageevent", str(e["event_id"]), action) for e in details.get("events", [])}
    missing = []
    for label, instance in seen:
        if label in NOT_AUDITED:
            continue
        if label not in AUDITED_THROUGH:
            if (target_type_of(instance), str(instance.pk)) not in by_target:
                missing.append(f"{label} #{instance.pk}")
            continue
        parents, prefix = AUDITED_THROUGH[label]
        found = [
            p
            for p in parents(instance)
            if any((t, i) == (target_type_of(p), str(p.pk)) and a.startswith(prefix) for t, i, a in by_target_action)
        ]
        if not found:
            missing.append(f"{label} #{instance.pk} (no {prefix}* event on what it derives from)")
    return sorted(set(missing))


def patients(n: int = 60) -> pd.DataFrame:
    born = [date(1930, 1, 1) + timedelta(days=400 * i) for i in range(n)]
    return pd.DataFrame(
        {
            "patient_id": [f"P{i:04d}" for i in range(n)],
            "full_name": [f"Person Number{i} Smith" for i in range(n)],
            "email": [f"person{i}@example.com" for i in range(n)],
            "date_of_birth": [d.isoformat() for d in born],
            "zip": [f"{10000 + 37 * i:05d}" for i in range(n)],
            "notes": [f"called from 415-555-{i:04d} about the visit" for i in range(n)],
        }
    )


def forest_bytes() -> bytes:
    import numpy as np
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    features = pd.DataFrame(rng.normal(size=(200, 3)), columns=["income", "debt", "age"])
    labels = (features.income - features.debt > 0).astype(int)
    return sio.dumps(RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(features, labels))


def lineage_event(input_ns: str, input_name: str) -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-12-01T10:00:00Z",
        "producer": "https://example.com/etl",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943cd7e2f0"},
        "job": {"namespace": "etl", "name": "patients_to_marts"},
        "inputs": [{"namespace": input_ns, "name": input_name}],
        "outputs": [
            {
                "namespace": "warehouse",
                "name": "marts.patient_contacts",
                "facets": {
                    "columnLineage": {
                        "_producer": "https://example.com/etl",
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                        "fields": {
                            "email": {
                                "inputFields": [
                                    {
                                        "namespace": input_ns,
                                        "name": input_name,
                                        "field": "email",
                                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                                    }
                                ]
                            }
                        },
                    }
                },
            }
        ],
    }


def test_every_row_written_by_a_day_of_work_is_audited(
    writes, api_as, users, ledger_key, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_POLICY_KEY_DIR = str(tmp_path / "keys")
    since = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    before = rows_now()
    writes.clear()  # the fixtures' own users
    service, steward, viewer, auditor = (api_as(r) for r in (Role.SERVICE, Role.STEWARD, Role.VIEWER, Role.AUDITOR))

    def ok(response, *codes):
        assert response.status_code in (codes or (200, 201, 202, 204)), response.content[:500]
        return response.json() if response.content else None

    with django_capture_on_commit_callbacks(execute=True):
        # catalog: a steward registers a file asset (its location is a steward decision), the
        # service that loads it registers the columns
        path = tmp_path / "patients.csv"
        patients().to_csv(path, index=False)
        source = ok(service.post("/api/v1/sources", {"name": "files", "kind": "file_share", "namespace": f"file://{tmp_path}"}))
        asset = ok(
            steward.post(
                "/api/v1/assets",
                {"source": source["id"], "qualified_name": "patients", "kind": "file", "location": str(path)},
                format="json",
            )
        )
        for name in patients().columns:
            ok(service.post("/api/v1/columns", {"asset": asset["id"], "name": name}, format="json"))

        # lineage: the ETL reports a run reading the asset
        ok(service.post("/api/v1/lineage", lineage_event(f"file://{tmp_path}", "patients"), format="json"))

        # scanning: a steward scans it, then confirms what the scan suggested
        ok(steward.post("/api/v1/scans", {"asset": asset["id"]}, format="json"))
        for cls in Classification.objects.filter(column__asset_id=asset["id"], state="suggested"):
            ok(steward.post(f"/api/v1/classifications/{cls.pk}/confirm", {"reason": "reviewed"}, format="json"))

        # policies: a policy run, a legal hold, a grant requested and decided, a retention dry run
        ok(steward.post("/api/v1/anonymization-runs", {"asset": asset["id"], "policy": "hipaa-safe-harbor"}, format="json"))
        hold = ok(steward.post("/api/v1/legal-holds", {"asset": asset["id"], "reference": "case-1", "reason": "litigation"}))
        ok(steward.post(f"/api/v1/legal-holds/{hold['id']}/release", {"reason": "case closed"}, format="json"))
        grant = ok(
            viewer.post(
                "/api/v1/access-grants",
                {"asset": asset["id"], "purpose": "research", "justification": "study", "days": 7},
                format="json",
            )
        )
        ok(steward.post(f"/api/v1/access-grants/{grant['id']}/approve", {"reason": "approved"}, format="json"))
        ok(steward.post("/api/v1/retention-runs", {"dry_run": True}, format="json"))
        call_command("compliance_evaluate", "--regulation", "gdpr", stdout=io.StringIO())

        # explain: a steward registers a model version and its artifact, a service asks why
        model = ok(service.post("/api/v1/models", {"name": "readmission"}, format="json"))
        version = ok(service.post("/api/v1/model-versions", {"model": model["id"], "version": "1"}, format="json"))
        settings.MEDIA_ROOT = str(tmp_path / "media")
        upload = io.BytesIO(forest_bytes())
        upload.name = "model.skops"
        artifact = ok(
            steward.post("/api/v1/explain/artifacts", {"model_version": version["id"], "file": upload}, format="multipart")
        )
        rows = [{"income": 1.2, "debt": -0.3, "age": 0.1}]
        ok(service.post(f"/api/v1/explain/artifacts/{artifact['id']}/explain", {"rows": rows}, format="json"))

        # monitoring: a steward sets up a monitor on a reference file, a service logs predictions, runs it
        reference = tmp_path / "reference.parquet"
        make_frame(1500, seed=1, label=True).drop(columns=["prediction_id"]).to_parquet(reference)
        ref_asset = ok(
            steward.post(
                "/api/v1/assets",
                {"source": source["id"], "qualified_name": "reference", "kind": "file", "location": str(reference)},
                format="json",
            )
        )
        columns = ["age", "income", "region", "score"]
        body = {"model_version": version["id"], "name": "inputs", "reference_asset": ref_asset["id"], "columns": columns}
        monitor = ok(steward.post("/api/v1/monitoring/monitors", body, format="json"))
        rows = make_frame(600, seed=3, shift=0.6).to_dict(orient="records")
        ok(service.post("/api/v1/monitoring/batches", {"model_version": version["id"], "rows": rows}, format="json"))
        ok(service.post(f"/api/v1/monitoring/monitors/{monitor['id']}/run", {}, format="json"))

        # evidence: an auditor exports a bundle
        export = ok(auditor.post("/api/v1/evidence/exports", {}, format="json"))
    assert EvidenceExport.objects.get(pk=export["id"]).status == "succeeded", EvidenceExport.objects.get(pk=export["id"]).error

    writes.extend(rows_added(before))
    assert writes, "the watch saw no writes: the scenario did not run"
    labels = {label for label, _ in writes}
    for expected in (
        "catalog.DataAsset",
        "lineage.Edge",
        "scanning.ScanRun",
        "policies.AnonymizationRun",
        "explain.Explanation",
        "monitoring.MonitorRun",
        "evidence.EvidenceExport",
    ):
        assert expected in labels, (expected, sorted(labels))
    missing = unaudited(writes, since)
    assert missing == [], "\n".join(missing)


def test_every_watched_model_is_accounted_for():
    """Declarations stay true: a model named in AUDITED_THROUGH/NOT_AUDITED exists."""
    for label in [*AUDITED_THROUGH, *NOT_AUDITED]:
        apps.get_model(label)
