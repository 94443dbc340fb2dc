"""Done-when checks on the demo estate: the findings a compliance officer would agree with."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from catalog.models import DataAsset
from compliance.policies import services

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def demo(eager_celery):
    if not (Path(settings.BASE_DIR) / "fixtures" / "demo_catalog.json").exists():
        pytest.skip("demo catalog not generated")
    call_command("demo_load", stdout=io.StringIO())


def findings_by_target() -> dict[str, set[str]]:
    out = io.StringIO()
    call_command("compliance_evaluate", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert all(f["citation"] and f["fix"] and f["title"] for f in report["findings"])
    by_target: dict[str, set[str]] = {}
    for f in report["findings"]:
        by_target.setdefault(f["target"]["name"], set()).add(f["rule"])
    return by_target


def test_the_demo_estate_gets_the_findings_a_compliance_officer_expects(demo, users):
    found = findings_by_target()
    patients = next(k for k in found if k.endswith("clinical.patients"))
    assert {"hipaa.phi-unprotected", "gdpr.special-category-unprotected", "ccpa.sensitive-pi-unprotected"} <= found[patients]
    export = next(k for k in found if k.endswith("lis/lab_results_export.csv"))
    assert "gdpr.retention-exceeded" in found[export]  # 30-day retention, rows from years ago
    fraud = next(k for k in found if k.startswith("fraud-scoring@"))
    assert "gdpr.model-profiling-dpia-missing" in found[fraud]  # no DPIA recorded for the profiling model
    readmission = [k for k in found if k.startswith("readmission-risk@")]
    assert all("gdpr.model-dpia-missing" not in found[k] for k in readmission)  # its DPIA is recorded
    assert not any("hipaa.model-phi-training" in rules for rules in found.values())  # trained on pseudonymised features

    # A steward restricts the clinical tables: the unprotected-PHI findings resolve.
    clinical = list(DataAsset.objects.filter(domain__name="Clinical"))
    services.policy_create(
        actor=users["steward"],
        name="clinical data: care team only",
        kind="access",
        config={"rules": [{"roles": ["viewer", "service"], "effect": "deny", "reason": "care team only"}]},
        assets=clinical,
    )
    found = findings_by_target()
    assert "hipaa.phi-unprotected" not in found.get(patients, set())
