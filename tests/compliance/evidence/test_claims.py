"""No unchecked claim: the evidence says "meets Safe Harbor" only when the anonymization run's
verification checked every requirement (every identifier type, free text, ages over 89) on every
output row and found nothing; otherwise it says what was not verified.

The runs here are real rows read by a real export; their reports are written as the anonymizer
writes them (the shape before issue 12, and the ``verification`` block of docs/evidence.md)."""

from __future__ import annotations

import json
import zipfile

import pytest
from django.utils import timezone

from accounts.choices import Role
from compliance.evidence import services
from compliance.evidence.collect import claims
from compliance.policies.models import AnonymizationRun
from tests.factories import AssetFactory, ClassificationFactory, ColumnFactory

pytestmark = pytest.mark.django_db

COLUMNS = [
    {"name": "name", "entity_type": "PERSON", "operator": "replace"},
    {"name": "ssn", "entity_type": "US_SSN", "operator": "redact"},
    {"name": "birth_date", "entity_type": "DATE_TIME", "operator": "generalize"},
    {"name": "notes", "entity_type": None, "operator": "scrub"},
]


def legacy_report(found: int = 0) -> dict:
    """What the anonymizer wrote before issue 12 for the issue's API run on ``patients``: whole-cell
    comparison, a sampled re-scan, ``passed: true`` -- and birth years of people over 89 kept."""
    return {
        "passed": True,
        "columns": COLUMNS,
        "identifier_check": {
            "identifier_columns": ["name", "ssn"],
            "distinct_values_checked": 5000,
            "values_found_in_output": found,
        },
        "rescan": {"rows": 1000, "residual": []},
        "k_anonymity": {"k": 7},
    }


def full_check(covers: list[str], found: int = 0, complete: bool = True, name: str = "identifier values") -> dict:
    return {"name": name, "covers": covers, "found": found, "complete": complete}


def verified_report(*checks: dict, skipped: list | None = None) -> dict:
    return {"passed": True, "columns": COLUMNS, "verification": {"checks": list(checks), "skipped": skipped or []}}


EVERY_TYPE = ["PERSON", "US_SSN", "DATE_OF_BIRTH", "free_text"]


def harbor_of(users, report: dict, profile: str = "hipaa-safe-harbor") -> dict:
    source = AssetFactory(qualified_name="clinical.patients")
    for name, entity in (("name", "PERSON"), ("ssn", "US_SSN"), ("birth_date", "DATE_OF_BIRTH")):
        ClassificationFactory(column=ColumnFactory(asset=source, name=name), entity_type=entity, state="confirmed")
    target = AssetFactory(source=source.source, qualified_name="clinical.patients_deid")
    AnonymizationRun.objects.create(
        source_asset=source,
        target_asset=target,
        profile=profile,
        source_path="var/patients.csv",
        output_path="var/patients_deid.parquet",
        status="succeeded",
        started_at=timezone.now(),  # as the services write it (core.Run: started_at is set when it runs)
        finished_at=timezone.now(),
        rows=5000,
        report=report,
    )
    export = services.export_build(export_id=services.export_request(actor=users[Role.AUDITOR], run_async=False).pk)
    assert export.status == "succeeded", export.error
    with zipfile.ZipFile(export.file_path) as archive:
        datasets = json.loads(archive.read("evidence/hipaa_safe_harbor.json"))["datasets"]
        html = archive.read("report.html").decode()
    assert len(datasets) == 1
    return datasets[0] | {"_html": html}


def test_the_issues_run_whose_verification_did_not_cover_ages_over_89_is_not_said_to_meet_safe_harbor(users, ledger_key):
    """Issue 12: the API run kept birth years of the 97 patients over 89, reported passed: true,
    and the bundle said "meets Safe Harbor"."""
    harbor = harbor_of(users, legacy_report())
    assert harbor["verification_passed"] is True  # the anonymizer's own word, repeated as such
    assert harbor["status"].startswith("not verified: ")
    assert "ages over 89" in harbor["status"] and "identifier values inside output text cells" in harbor["status"]
    assert "ages over 89 and dates indicating them (164.514(b)(2)(i)(C))" in harbor["not_checked"]
    assert [c["name"] for c in harbor["checks"]] == [
        "identifier values compared with whole output cells",
        "re-scan of a sample of the output",
    ]
    assert "meets Safe Harbor" not in harbor["_html"].replace("0 meeting HIPAA Safe Harbor", "")


def test_a_verification_covering_everything_but_ages_over_89_is_not_verified(users, ledger_key):
    harbor = harbor_of(users, verified_report(full_check(EVERY_TYPE)))
    assert harbor["status"] == "not verified: ages over 89 and dates indicating them (164.514(b)(2)(i)(C))"


def test_a_sampled_check_does_not_count_as_verifying(users, ledger_key):
    harbor = harbor_of(users, verified_report(full_check(EVERY_TYPE), full_check(["ages_over_89"], complete=False)))
    assert harbor["status"].startswith("not verified: ages over 89")


def test_a_skipped_check_is_named_and_blocks_the_claim(users, ledger_key):
    report = verified_report(
        full_check([*EVERY_TYPE, "ages_over_89"]), skipped=[{"name": "free-text search", "reason": "time limit"}]
    )
    harbor = harbor_of(users, report)
    assert harbor["status"] == "not verified: free-text search (skipped: time limit)"


def test_survivors_found_by_a_check_mean_it_does_not_meet_safe_harbor(users, ledger_key):
    harbor = harbor_of(users, verified_report(full_check(EVERY_TYPE, found=3), full_check(["ages_over_89"], name="ages")))
    assert harbor["status"] == "does not meet Safe Harbor: identifier values found 3"


def test_it_meets_safe_harbor_only_when_every_requirement_was_checked_on_every_row_and_found_clean(users, ledger_key):
    harbor = harbor_of(users, verified_report(full_check(EVERY_TYPE), full_check(["ages_over_89"], name="ages over 89")))
    assert harbor["status"] == "meets Safe Harbor" and harbor["not_checked"] == []
    assert set(harbor["required"]) == {
        "PERSON",
        "US_SSN",
        "DATE_OF_BIRTH",
        "identifier values inside output text cells (a search of every cell)",
        "ages over 89 and dates indicating them (164.514(b)(2)(i)(C))",
    }
    assert "1 meeting HIPAA Safe Harbor" in harbor["_html"]


def test_another_profile_never_meets_safe_harbor(users, ledger_key):
    report = verified_report(full_check(EVERY_TYPE), full_check(["ages_over_89"]))
    harbor = harbor_of(users, report, profile="gdpr-pseudonymize")
    assert harbor["status"] == "not verified: the run used profile gdpr-pseudonymize, not hipaa-safe-harbor"


def test_the_requirements_follow_what_the_source_held_not_only_what_the_run_planned():
    """The issue's API path planned the birth column as DATE_TIME; the source's DATE_OF_BIRTH (and
    any date or age) still requires the ages-over-89 check."""
    report = {"columns": [{"name": "x", "entity_type": "EMAIL_ADDRESS", "operator": "redact"}]}
    assert claims.safe_harbor_requirements(report, {"DATE_OF_BIRTH"}) == {
        "EMAIL_ADDRESS",
        "DATE_OF_BIRTH",
        "ages_over_89",
        "free_text",
    }
    assert claims.safe_harbor_requirements(report, set()) == {"EMAIL_ADDRESS", "free_text"}
