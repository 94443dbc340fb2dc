"""Keeps ``verify_bundle.py``'s inlined copy of ``audit/verify_core.py`` in step with the original.

The bundle's ``verify.py`` must be a single file, so the ledger verification core is copied into
it between two marker lines. ``python -m compliance.evidence.inline`` rewrites the copy; a test
fails when it drifts from ``audit/verify_core.py``.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "audit" / "verify_core.py"
VERIFIER = Path(__file__).resolve().parent / "verify_bundle.py"
BEGIN = "# ---- BEGIN audit/verify_core.py (verbatim; tests/compliance/evidence/test_verifier.py checks it) ----\n"
END = "# ---- END audit/verify_core.py ----\n"
FUTURE = "from __future__ import annotations\n"


def core_body() -> str:
    """verify_core.py from the line after ``from __future__ import annotations`` to its end, plus the
    two blank lines the formatter puts before the end marker."""
    text = CORE.read_text(encoding="utf-8")
    _head, sep, tail = text.partition(FUTURE)
    if not sep:
        raise ValueError("audit/verify_core.py no longer starts with `from __future__ import annotations`")
    return tail + "\n\n"


def inlined_body(text: str | None = None) -> str:
    text = VERIFIER.read_text(encoding="utf-8") if text is None else text
    start = text.index(BEGIN) + len(BEGIN)
    return text[start : text.index(END)]


def sync() -> bool:
    """Rewrite the inlined copy; True when the file changed."""
    text = VERIFIER.read_text(encoding="utf-8")
    start = text.index(BEGIN) + len(BEGIN)
    updated = text[:start] + core_body() + text[text.index(END) :]
    if updated == text:
        return False
    VERIFIER.write_text(updated, encoding="utf-8")
    return True


if __name__ == "__main__":
    print("verify_bundle.py updated" if sync() else "verify_bundle.py already in step with audit/verify_core.py")
