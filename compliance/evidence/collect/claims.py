"""What an anonymization run's verification checked, read from its report, and the one rule for
the Safe Harbor claim: no statement says "meets" unless a check tested exactly that.

The run report contract (docs/evidence.md, "Claims"): ``report["verification"]`` holds
``checks``, each ``{"name", "covers": [...], "found": int, "complete": bool}`` -- ``covers`` names
what the check searched for (entity types such as ``US_SSN``, and ``free_text`` for identifier
values searched inside every output text cell, ``ages_over_89`` for ages over 89 and dates indicating them);
``complete`` is true when it read every output row (a sample cannot show that nothing survives)
-- and ``skipped``, a list of ``{"name", "reason"}``. Reports written before that contract carry
``identifier_check`` (whole-cell comparison of identifier columns) and ``rescan`` (a sampled
re-scan); they are read as what they are: neither covers free text nor ages over 89.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FREE_TEXT = "free_text"
AGES_OVER_89 = "ages_over_89"
# 45 CFR 164.514(b)(2)(i)(C): ages over 89 and dates (including year) indicative of such age.
AGE_BEARING = frozenset({"DATE_OF_BIRTH", "DATE_TIME", "AGE"})
# Types the Safe Harbor profile keeps on purpose (years, ZIP3, state, ethnicity): not identifiers.
KEPT_BY_DESIGN = frozenset({"DATE_TIME", "US_ZIP_CODE", "LOCATION", "NRP", "GENDER", "RACE_ETHNICITY"})
REQUIREMENT_WORDS = {
    FREE_TEXT: "identifier values inside output text cells (a search of every cell)",
    AGES_OVER_89: "ages over 89 and dates indicating them (164.514(b)(2)(i)(C))",
}


@dataclass(frozen=True)
class Check:
    """One verification check of a run, as its report states it."""

    name: str
    covers: frozenset[str]
    found: int | None
    complete: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "covers": sorted(self.covers), "found": self.found, "complete": self.complete}


@dataclass
class Verification:
    checks: list[Check] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    legacy: bool = False


def verification_of(report: dict[str, Any]) -> Verification:
    """The checks a run's report says it ran (see the module docstring for both report shapes)."""
    block = report.get("verification")
    if isinstance(block, dict):
        checks = [
            Check(
                name=str(c.get("name") or "?"),
                covers=frozenset(str(x) for x in c.get("covers") or []),
                found=c.get("found") if isinstance(c.get("found"), int) else None,
                complete=c.get("complete") is True,
            )
            for c in block.get("checks") or []
            if isinstance(c, dict)
        ]
        skipped = [
            {"name": str(s.get("name") or "?"), "reason": str(s.get("reason") or "")}
            for s in block.get("skipped") or []
            if isinstance(s, dict)
        ]
        return Verification(checks=checks, skipped=skipped)
    checks = []
    identifier = report.get("identifier_check") or {}
    if identifier:
        covered = {
            c.get("entity_type")
            for c in report.get("columns") or []
            if c.get("name") in set(identifier.get("identifier_columns") or []) and c.get("entity_type")
        }
        found = identifier.get("values_found_in_output")
        checks.append(
            Check(
                name="identifier values compared with whole output cells",
                covers=frozenset(covered),
                found=found if isinstance(found, int) else None,
                complete=True,
            )
        )
    rescan = report.get("rescan") or {}
    if rescan:
        residual = rescan.get("residual")
        checks.append(
            Check(
                name="re-scan of a sample of the output",
                covers=frozenset(),
                found=len(residual) if isinstance(residual, list) else None,
                complete=False,
            )
        )
    return Verification(checks=checks, legacy=True)


def safe_harbor_requirements(report: dict[str, Any], source_entity_types: set[str]) -> set[str]:
    """What a Safe Harbor verification must cover for this run: every identifier type the run
    planned or the source held (as of the date), identifier values inside every output text cell,
    and ages over 89 when the source held dates of birth, other dates or ages."""
    planned = {c.get("entity_type") for c in report.get("columns") or [] if c.get("entity_type")}
    held = planned | set(source_entity_types)
    required = {t for t in held if t not in KEPT_BY_DESIGN}
    # Identifiers hide inside text cells of any kept or scrubbed column (issue 12, defect 11): the
    # claim needs every output text cell searched, whatever the plan called free text.
    required.add(FREE_TEXT)
    if held & AGE_BEARING:
        required.add(AGES_OVER_89)
    return required


def safe_harbor_claim(
    *, run: dict[str, Any] | None, report: dict[str, Any], source_entity_types: set[str], phi_labels_remaining: list[str]
) -> dict[str, Any]:
    """``{"status", "checked", "not_checked", "survivors"}`` of one de-identified dataset.

    ``status`` is ``meets Safe Harbor`` only when the run used the Safe Harbor profile, succeeded,
    nothing was skipped, every requirement is covered by a complete check that found zero, and no
    PHI label remains on the output; ``does not meet Safe Harbor: ...`` when a check found
    identifiers or PHI labels remain; otherwise ``not verified: <what was not checked>``."""
    if run is None:
        return {"status": "not verified: no anonymization run is recorded for this dataset", "checked": [], "not_checked": []}
    verification = verification_of(report)
    checks = verification.checks
    required = safe_harbor_requirements(report, source_entity_types)
    covered = {token for c in checks if c.complete and c.found is not None for token in c.covers}
    missing = sorted(required - covered)
    survivors = {c.name: c.found for c in checks if c.found}
    not_checked = [REQUIREMENT_WORDS.get(t, t) for t in missing] + [
        f"{s['name']} (skipped: {s['reason'] or 'no reason given'})" for s in verification.skipped
    ]
    if "safe-harbor" not in (run.get("profile") or ""):
        status = f"not verified: the run used profile {run.get('profile') or '(none)'}, not hipaa-safe-harbor"
    elif run.get("status") not in (None, "succeeded"):
        status = f"not verified: the run {run.get('status')}"
    elif survivors or phi_labels_remaining:
        parts = [f"{name} found {n}" for name, n in sorted(survivors.items())]
        parts += [f"PHI labels remain: {', '.join(phi_labels_remaining)}"] if phi_labels_remaining else []
        status = "does not meet Safe Harbor: " + "; ".join(parts)
    elif not_checked:
        status = "not verified: " + "; ".join(not_checked)
    else:
        status = "meets Safe Harbor"
    return {
        "status": status,
        "checked": [c.as_dict() for c in checks],
        "not_checked": not_checked,
        "required": sorted(REQUIREMENT_WORDS.get(t, t) for t in required),
    }
