"""axe-core in the page under test: no serious or critical accessibility violation.

axe-core is vendored for the tests only (``tests/e2e/vendor/``, MPL-2.0) and injected into the page
Playwright drives; Custos never serves it.
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_violations(page, *, impacts: tuple[str, ...] = BLOCKING) -> list[dict]:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) on ``page`` and return the violations whose impact
    is in ``impacts``, each ``{"id", "impact", "help", "targets"}``."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def assert_accessible(page) -> None:
    """Fail with a readable list when axe-core finds a serious or critical violation on ``page``."""
    found = axe_violations(page)
    assert not found, (
        "axe-core violations on "
        + page.url
        + ":\n"
        + "\n".join(f"- {v['impact']} {v['id']}: {v['help']} at {v['targets']}" for v in found)
    )
