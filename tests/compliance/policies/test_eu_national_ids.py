"""European national identification numbers (issue 13 class 5) in the regulation packs (2026.3) and the
built-in anonymization profiles.

The scanner reports ES_NIF, ES_NIE, IT_FISCAL_CODE, PL_PESEL, FI_PERSONAL_IDENTITY_CODE, DE_TAX_ID and
UK_NINO. A column classified as one of them is personal data under the GDPR (Art. 4(1); national
identification numbers, Art. 87), "any other unique identifying number" under HIPAA Safe Harbor
(45 CFR 164.514(b)(2)(i)(R)) and an identifier / sensitive personal information (government
identification number) under the CCPA. Before 2026.3 no pack category held them, so a table whose
only identifier was a DNI number had no finding at all, and both anonymization profiles kept it.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest

from catalog import services as catalog_services
from compliance.policies import profiles, selectors, services
from compliance.policies.anonymizer import plan_columns
from compliance.policies.models import Finding, RegulationPack
from compliance.scanning.engine import EU_NATIONAL_IDS

pytestmark = pytest.mark.django_db

NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def nifs(n: int, seed: int = 87) -> list[str]:
    """Spanish DNI/NIF numbers with their mod-23 check letter (made up here, nobody's)."""
    rng = random.Random(seed)
    return [f"{v}{NIF_LETTERS[v % 23]}" for v in (rng.randint(10_000_000, 99_999_999) for _ in range(n))]


def test_packs_2026_3_put_every_eu_national_id_in_a_category_of_each_regulation():
    packs = {p.code: p for p in RegulationPack.objects.filter(code__in=["gdpr", "hipaa", "ccpa"])}
    assert {p.version for p in packs.values()} == {"2026.3"}
    index = selectors.category_index()
    for entity in EU_NATIONAL_IDS:
        found = {(pack, code): (sensitive, citation) for pack, code, sensitive, citation in index.get(entity, [])}
        assert found[("gdpr", "national-id")] == (False, "Art. 4(1); Art. 87"), entity
        assert found[("hipaa", "R")] == (False, "45 CFR 164.514(b)(2)(i)(R)"), entity
        assert ("ccpa", "A") in found and found[("ccpa", "L")][0] is True, entity


@pytest.fixture
def dni_asset(file_asset):
    """A public customer export whose only identifier is a column of Spanish DNI numbers."""
    frame = pd.DataFrame({"dni": nifs(3), "plan": ["basic", "pro", "basic"]})
    asset = file_asset(frame, "eu_customers", sensitivity="public")
    catalog_services.classification_suggest(
        column=asset.columns.get(name="dni"), entity_type="ES_NIF", source="scan", actor="test", confidence=0.95
    )
    return asset


def test_a_column_of_national_ids_alone_makes_the_packs_apply(dni_asset):
    services.policy_evaluate(actor="test", asset=dni_asset)
    findings = {f.rule.code: f for f in Finding.objects.filter(asset=dni_asset, status="open").select_related("rule")}
    assert {"gdpr.personal-data-public", "gdpr.lawful-basis-missing", "ccpa.sensitive-pi-unprotected", "ccpa.pi-public"} <= set(
        findings
    )
    columns = findings["gdpr.personal-data-public"].evidence["columns"]
    assert [(c["column"], c["categories"]) for c in columns] == [("dni", ["gdpr:national-id"])]
    assert "ccpa:L" in findings["ccpa.sensitive-pi-unprotected"].evidence["columns"][0]["categories"]
    assert not any(f.startswith("hipaa.") for f in findings)  # no health context: HIPAA does not apply


def test_in_a_health_context_a_national_id_is_a_hipaa_identifier(dni_asset):
    dni_asset.tags.set([catalog_services.tag_ensure(name="phi", actor="test")])
    services.policy_evaluate(actor="test", asset=dni_asset)
    finding = Finding.objects.get(asset=dni_asset, rule__code="hipaa.phi-public", status="open")
    assert finding.evidence["columns"][0]["categories"] == ["hipaa:R"]


@pytest.mark.parametrize(("profile", "operator"), [(profiles.HIPAA_SAFE_HARBOR, "redact"), (profiles.GDPR_PSEUDONYMIZE, "hmac")])
def test_the_builtin_profiles_treat_national_ids_found_by_the_scan_or_the_catalog(profile, operator):
    sample = pd.DataFrame({"c4": nifs(300), "plan": [random.Random(i).choice(["basic", "pro"]) for i in range(300)]})
    by_scan = {p.name: p for p in plan_columns(sample, profile)}
    assert by_scan["c4"].entity_type == "ES_NIF" and by_scan["c4"].spec["operator"] == operator, by_scan["c4"]
    assert by_scan["plan"].spec["operator"] == "keep"
    for entity in EU_NATIONAL_IDS:
        by_catalog = {p.name: p for p in plan_columns(sample, profile, classifications={"c4": [entity]}, scan=False)}
        assert by_catalog["c4"].entity_type == entity and by_catalog["c4"].spec["operator"] == operator
