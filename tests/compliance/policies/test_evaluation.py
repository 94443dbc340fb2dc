"""Evaluation: findings per asset and model version with rule, article, evidence and fix; resolved
when fixed; re-evaluated on catalog signals; posture per regulation; the command."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from catalog import services as catalog_services
from compliance.policies import selectors, services
from compliance.policies.models import Finding

pytestmark = pytest.mark.django_db


def open_rules(**target) -> set[str]:
    return set(Finding.objects.filter(status="open", **target).values_list("rule__code", flat=True))


@pytest.fixture
def phi_asset(file_asset, users):
    frame = pd.DataFrame(
        {
            "first_name": ["Ann", "Bob"],
            "ssn": ["123-45-6789", "987-65-4321"],
            "diagnosis": ["E11.9", "I10"],
            "visit_date": ["2025-01-02", "2025-02-03"],
        }
    )
    asset = file_asset(frame, "patients", sensitivity="internal")
    catalog_services.tag_ensure(name="phi", actor="test")
    asset.tags.set([catalog_services.tag_ensure(name="phi", actor="test")])
    for column, entity in (("first_name", "PERSON"), ("ssn", "US_SSN"), ("diagnosis", "HEALTH_DATA")):
        catalog_services.classification_suggest(
            column=asset.columns.get(name=column), entity_type=entity, source="scan", actor="test", confidence=0.9
        )
    return asset


def test_a_phi_asset_without_record_or_policies_gets_the_findings_a_dpo_expects(phi_asset):
    services.policy_evaluate(actor="test", asset=phi_asset)
    assert open_rules(asset=phi_asset) >= {
        "hipaa.phi-unprotected",
        "hipaa.phi-sensitivity",
        "gdpr.lawful-basis-missing",
        "gdpr.purpose-missing",
        "gdpr.special-category-unprotected",
        "gdpr.special-category-sensitivity",
        "gdpr.retention-undefined",
        "ccpa.retention-disclosure",
        "ccpa.sensitive-pi-unprotected",
    }
    finding = Finding.objects.get(asset=phi_asset, rule__code="gdpr.special-category-unprotected")
    assert finding.citation == "Art. 9(1); Art. 32(1)(a)" and finding.severity == "high" and finding.fix
    columns = {c["column"]: c for c in finding.evidence["columns"]}
    assert set(columns) == {"diagnosis"} and "gdpr:art9-health" in columns["diagnosis"]["categories"]
    assert "123-45-6789" not in json.dumps(list(Finding.objects.values_list("evidence", flat=True)))
    assert AuditEvent.objects.filter(action="policies.evaluate", target_id=str(phi_asset.pk)).exists()


def test_fixing_the_gaps_resolves_the_findings(phi_asset, users):
    services.policy_evaluate(actor="test", asset=phi_asset)
    catalog_services.asset_update(
        asset=phi_asset,
        actor=users["steward"],
        legal_basis="legal_obligation",
        processing_purposes=["treatment"],
        sensitivity="restricted",
        retention_days=3650,
    )
    services.policy_create(
        actor=users["steward"],
        name="phi readers",
        kind="access",
        config={"rules": [{"roles": ["viewer"], "effect": "deny"}]},
        assets=[phi_asset],
    )
    services.policy_evaluate(actor="test", asset=phi_asset)
    still_open = open_rules(asset=phi_asset)
    for code in (
        "gdpr.lawful-basis-missing",
        "gdpr.purpose-missing",
        "hipaa.phi-unprotected",
        "gdpr.special-category-sensitivity",
        "gdpr.retention-undefined",
    ):
        assert code not in still_open
    resolved = Finding.objects.get(asset=phi_asset, rule__code="gdpr.lawful-basis-missing")
    assert resolved.status == "resolved" and resolved.resolved_at is not None


def test_classification_changes_trigger_re_evaluation(file_asset, django_capture_on_commit_callbacks, users, eager_celery):
    asset = file_asset(
        pd.DataFrame({"email": ["a@example.org"]}), "contacts", legal_basis="contract", processing_purposes=["support"]
    )
    assert not Finding.objects.filter(asset=asset).exists()
    with django_capture_on_commit_callbacks(execute=True):
        classification = catalog_services.classification_assign(
            column=asset.columns.get(name="email"), entity_type="EMAIL_ADDRESS", actor=users["steward"]
        )
    assert "gdpr.retention-undefined" in open_rules(asset=asset)
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.classification_reject(classification=classification, actor=users["steward"], reason="test data")
    assert open_rules(asset=asset) == set()


def test_personal_data_propagated_into_a_public_asset_is_critical_with_its_lineage_path(file_asset, users):
    source = file_asset(pd.DataFrame({"email": ["a@example.org"]}), "crm", sensitivity="confidential")
    public = file_asset(pd.DataFrame({"contact": ["a@example.org"]}), "newsletter_export", sensitivity="public")
    src_col = source.columns.get(name="email")
    catalog_services.classification_assign(column=src_col, entity_type="EMAIL_ADDRESS", actor=users["steward"])
    catalog_services.classification_suggest(
        column=public.columns.get(name="contact"),
        entity_type="EMAIL_ADDRESS",
        source="propagated",
        actor="custos:lineage",
        evidence={"origin": {"column_id": src_col.pk}, "path": [src_col.pk, public.columns.get(name="contact").pk]},
    )
    services.policy_evaluate(actor="test", asset=public)
    finding = Finding.objects.get(asset=public, rule__code="gdpr.personal-data-public")
    assert finding.severity == "critical" and "propagated through lineage" in finding.message
    path = finding.evidence["columns"][0]["lineage_path"]
    assert [step["column"] for step in path] == ["crm.email", "newsletter_export.contact"]


def test_a_production_model_trained_on_health_data_needs_a_dpia(
    phi_asset, users, django_capture_on_commit_callbacks, eager_celery
):
    model = catalog_services.model_create(actor=users["steward"], name="readmission")
    with django_capture_on_commit_callbacks(execute=True):
        version = catalog_services.model_version_register(
            actor=users["steward"], model=model, version="1.0", stage="production", training_datasets=[phi_asset]
        )
    services.policy_evaluate(actor="test", model_version=version)
    finding = Finding.objects.get(model_version=version, rule__code="gdpr.model-dpia-missing")
    assert "Art. 35" in finding.citation and finding.evidence["training_datasets"][0]["asset_id"] == phi_asset.pk
    assert "hipaa.model-phi-training" in open_rules(model_version=version)
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.model_version_update(model_version=version, actor=users["steward"], dpia_reference="DPIA-2026-3")
    services.policy_evaluate(actor="test", model_version=version)
    assert "gdpr.model-dpia-missing" not in open_rules(model_version=version)


def test_a_model_trained_on_a_safe_harbor_copy_has_no_phi_finding(phi_asset, users, tmp_path):
    run = services.anonymization_run(
        actor=users["steward"], policy="hipaa-safe-harbor", source_asset=phi_asset, output_path=tmp_path / "deid.csv"
    )
    model = catalog_services.model_create(actor=users["steward"], name="readmission-deid")
    version = catalog_services.model_version_register(
        actor=users["steward"], model=model, version="1.0", stage="production", training_datasets=[run.target_asset]
    )
    services.policy_evaluate(actor="test", model_version=version)
    assert "hipaa.model-phi-training" not in open_rules(model_version=version)


def test_posture_and_the_command(phi_asset):
    out = io.StringIO()
    call_command("compliance_evaluate", "--regulation", "hipaa", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert set(report["posture"]) == {"hipaa"}
    hipaa = report["posture"]["hipaa"]
    assert hipaa["assets_in_scope"] == 1 and hipaa["assets_compliant"] == 0 and hipaa["by_severity"]["high"] >= 1
    assert report["findings"] and all(f["regulation"] == "hipaa" and f["citation"] and f["fix"] for f in report["findings"])
    text = io.StringIO()
    call_command("compliance_evaluate", stdout=text)
    assert "gdpr.lawful-basis-missing" in text.getvalue() and "Art. 6(1)" in text.getvalue()
    assert selectors.posture()["gdpr"]["open_findings"] >= 1
    with pytest.raises(CommandError, match="unknown regulation"):
        call_command("compliance_evaluate", "--regulation", "sox", stdout=io.StringIO())


def test_findings_api_hides_restricted_assets_from_viewers(phi_asset, api_as):
    services.policy_evaluate(actor="test", asset=phi_asset)
    assert api_as("steward").get("/api/v1/findings").json()["count"] >= 5
    catalog_services.asset_update(asset=phi_asset, actor="test", sensitivity="restricted")
    assert api_as("viewer").get("/api/v1/findings").json()["count"] == 0
    posture = api_as("auditor").get("/api/v1/compliance/posture?regulation=gdpr")
    assert posture.status_code == 200 and "gdpr" in posture.json()


def test_rows_older_than_the_recorded_retention_are_a_finding_with_the_exact_count(file_asset):
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.now()
    dates = [(today - timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ") for d in (1, 10, 29, 31, 45, 400)]
    frame = pd.DataFrame({"email": [f"u{i}@example.org" for i in range(6)], "collected_at": dates})
    asset = file_asset(frame, "export", retention_days=30, legal_basis="contract", processing_purposes=["support"])
    catalog_services.classification_suggest(
        column=asset.columns.get(name="email"), entity_type="EMAIL_ADDRESS", source="scan", actor="test"
    )
    services.policy_evaluate(actor="test", asset=asset)
    finding = Finding.objects.get(asset=asset, rule__code="gdpr.retention-exceeded")
    assert (
        finding.evidence["expired_rows"] == 3
        and finding.evidence["rows"] == 6
        and finding.evidence["date_columns"] == ["collected_at"]
    )
    assert finding.citation == "Art. 5(1)(e)"
