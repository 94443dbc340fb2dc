"""Integration (PostgreSQL pass): a real Celery worker on Redis re-evaluates findings after a
catalog change and runs a retention pass from the task the beat schedule uses."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from catalog import services as catalog_services
from compliance import datasets
from compliance.anonymization import services as anonymization
from compliance.policies import tasks
from compliance.policies.models import Finding, RetentionRun

pytestmark = pytest.mark.worker


def wait_until(check, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not done within {timeout} s; see var/celery-worker-test.log")


def test_a_worker_re_evaluates_an_asset_when_a_classification_is_confirmed(
    celery_worker_process, transactional_db, file_asset, users
):
    asset = file_asset(
        pd.DataFrame({"email": ["a@example.org"]}), "contacts_worker", legal_basis="contract", processing_purposes=["support"]
    )
    catalog_services.classification_assign(
        column=asset.columns.get(name="email"), entity_type="EMAIL_ADDRESS", actor=users["steward"]
    )
    finding = wait_until(
        lambda: Finding.objects.filter(asset=asset, rule__code="gdpr.retention-undefined", status="open").first()
    )
    assert finding.citation.startswith("Art. 5(1)(e)")


def test_the_beat_retention_task_runs_on_a_worker(celery_worker_process, transactional_db):
    tasks.retention_enforce.delay(dry_run=True)
    run = wait_until(lambda: RetentionRun.objects.filter(status="succeeded").first())
    assert run.dry_run is True and run.report["summary"]["errors"] == 0


def test_a_worker_runs_a_queued_anonymization_and_registers_the_copy(celery_worker_process, transactional_db, file_asset, users):
    from compliance.policies.models import AnonymizationRun
    from tests.compliance.policies.conftest import make_patients

    asset = file_asset(make_patients(30), "patients_worker", sensitivity="confidential")
    out = datasets.resolve_asset(asset).path.with_name("patients_worker_deid.csv")
    run = anonymization.anonymization_start(
        actor=users["steward"], policy="hipaa-safe-harbor", source_asset=asset, output_path=out
    )
    done = wait_until(lambda: AnonymizationRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).first(), timeout=180)
    assert done.status == "succeeded", done.error
    assert done.report["passed"] and done.target_asset_id and out.exists()
