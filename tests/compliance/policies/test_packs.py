"""Regulation packs: loaded by the data migration, citing articles; organisations add packs and override rules."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from compliance.policies.actions import packs
from compliance.policies.models import RegulationCategory, RegulationPack, RegulationRule

pytestmark = pytest.mark.django_db


def test_the_migration_loads_gdpr_hipaa_and_ccpa_with_citations():
    assert set(RegulationPack.objects.values_list("code", flat=True)) >= {"gdpr", "hipaa", "ccpa"}
    for rule in RegulationRule.objects.all():
        assert rule.citation.strip(), rule.code
        assert rule.fix.strip(), rule.code
    for category in RegulationCategory.objects.all():
        assert category.citation.strip()


def test_hipaa_pack_maps_all_18_safe_harbor_identifiers_and_keeps_its_parameters_as_data():
    hipaa = RegulationPack.objects.get(code="hipaa")
    identifiers = hipaa.categories.filter(code__in=list("ABCDEFGHIJKLMNOPQR"))
    assert identifiers.count() == 18
    assert all(c.entity_types and c.citation.startswith("45 CFR 164.514(b)(2)(i)") for c in identifiers)
    deid = hipaa.content["deidentification"]
    assert deid["restricted_zip3"] == [
        "036",
        "059",
        "063",
        "102",
        "203",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    ]
    assert deid["age_cap"] == 89
    assert {r["days"] for r in hipaa.content["retention"]} >= {2190}


def test_ccpa_pack_has_categories_a_to_l_and_sensitive_pi():
    ccpa = RegulationPack.objects.get(code="ccpa")
    assert sorted(ccpa.categories.values_list("code", flat=True)) == list("ABCDEFGHIJKL")
    sensitive = ccpa.categories.get(code="L")
    assert sensitive.sensitive and {"US_SSN", "HEALTH_DATA", "GENETIC"} <= set(sensitive.entity_types)


def test_gdpr_pack_separates_art9_and_art10_from_personal_data():
    gdpr = RegulationPack.objects.get(code="gdpr")
    special = gdpr.categories.filter(sensitive=True)
    assert {"art9-health", "art10-criminal", "art9-genetic", "art9-biometric"} <= set(special.values_list("code", flat=True))
    assert gdpr.rules.filter(code="gdpr.model-dpia-missing", citation__contains="Art. 35").exists()


def test_an_organisation_installs_its_own_pack_audited(users):
    document = {
        "code": "acme",
        "name": "ACME internal data rules",
        "version": "1",
        "categories": [{"code": "staff", "name": "Staff ids", "citation": "ACME DP policy 2.1", "entity_types": ["UNIQUE_ID"]}],
        "rules": [
            {
                "code": "acme.retention",
                "title": "Retention",
                "citation": "ACME DP policy 4",
                "severity": "low",
                "check": "retention_undefined",
            }
        ],
    }
    pack = packs.pack_install(document=document, actor=users["steward"])
    assert not pack.builtin and pack.rules.get().code == "acme.retention"
    assert AuditEvent.objects.filter(action="policies.pack.install", target_id=str(pack.pk)).exists()


def test_it_refuses_to_replace_a_builtin_pack_and_malformed_packs(users):
    with pytest.raises(ValidationError):
        packs.pack_install(
            document={"code": "gdpr", "name": "x", "version": "9", "categories": [], "rules": []}, actor=users["steward"]
        )
    with pytest.raises(ValidationError):
        packs.pack_install(document={"code": "x", "name": "x"}, actor=users["steward"])


def test_a_viewer_cannot_install_a_pack(users):
    with pytest.raises(PermissionDenied):
        packs.pack_install(
            document={"code": "x", "name": "x", "version": "1", "categories": [], "rules": []}, actor=users["viewer"]
        )


def test_overriding_a_rule_keeps_the_pack_value_and_is_audited(users):
    rule = RegulationRule.objects.get(code="gdpr.purpose-missing")
    packs.rule_override(rule=rule, actor=users["steward"], severity="high", reason="regulator focus this year")
    rule.refresh_from_db()
    assert rule.severity == "high" and rule.overridden and rule.original["severity"] == "medium"
    event = AuditEvent.objects.get(action="policies.rule.override", target_id=str(rule.pk))
    assert event.details["changes"]["severity"] == {"from": "medium", "to": "high"}
    packs.rule_override_clear(rule=rule, actor=users["steward"])
    rule.refresh_from_db()
    assert rule.severity == "medium" and not rule.overridden


def test_reloading_the_packs_keeps_an_override(users):
    from compliance.policies.pack_loader import load_builtin

    rule = RegulationRule.objects.get(code="hipaa.phi-public")
    packs.rule_override(rule=rule, actor=users["steward"], enabled=False, reason="covered by network controls")
    load_builtin()
    rule.refresh_from_db()
    assert rule.overridden and rule.enabled is False
