"""Builds the bundle's single-file ``verify.py`` at export time from two sources, so there is no
committed copy of the ledger core to drift:

* ``audit/verify_core.py`` -- the RFC 6962/9162 hashing and proofs, C2SP keys and signed notes,
  taken verbatim from the line after ``from __future__ import annotations`` to its end;
* ``compliance/evidence/verify_bundle.py`` -- the evidence-specific part (the bundle checks and
  ``main``). In the repository it imports the core from ``audit.verify_core`` between two marker
  lines; the build puts the core's text in place of that import block.

The result imports only the Python standard library and ``cryptography``; ``source()`` refuses
(``VerifierBuildError``) to produce anything else, so a Django or Custos import added to either
file fails the export instead of shipping a verifier the auditor cannot run.
"""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "audit" / "verify_core.py"
BUNDLE_PART = Path(__file__).resolve().parent / "verify_bundle.py"
FUTURE = "from __future__ import annotations\n"
IMPORT_BEGIN = "# ---- BEGIN core import (compliance/evidence/verifier.py puts audit/verify_core.py here) ----\n"
IMPORT_END = "# ---- END core import ----\n"
CORE_BEGIN = "# ---- BEGIN audit/verify_core.py (verbatim, inserted at export time) ----\n"
CORE_END = "# ---- END audit/verify_core.py ----\n"
ALLOWED_IMPORTS = frozenset(sys.stdlib_module_names) | {"cryptography"}


class VerifierBuildError(RuntimeError):
    """The sources cannot make a standalone verifier (a marker is missing, or a foreign import)."""


def core_body() -> str:
    """``audit/verify_core.py`` after its ``from __future__`` line (its docstring stays behind:
    the verifier's own docstring describes the file)."""
    text = CORE.read_text(encoding="utf-8")
    _head, sep, tail = text.partition(FUTURE)
    if not sep:
        raise VerifierBuildError("audit/verify_core.py no longer has `from __future__ import annotations`")
    return tail.lstrip("\n")


def source() -> bytes:
    """The exact bytes of the ``verify.py`` a bundle ships."""
    part = BUNDLE_PART.read_text(encoding="utf-8")
    start, end = part.find(IMPORT_BEGIN), part.find(IMPORT_END)
    if start < 0 or end < start:
        raise VerifierBuildError("compliance/evidence/verify_bundle.py lost its core import markers")
    text = part[:start] + CORE_BEGIN + "\n" + core_body().rstrip("\n") + "\n\n\n" + CORE_END + part[end + len(IMPORT_END) :]
    foreign = sorted(imported_modules(text) - ALLOWED_IMPORTS)
    if foreign:
        raise VerifierBuildError(f"the verifier would import {', '.join(foreign)}: only the standard library and cryptography")
    return text.encode("utf-8")


def imported_modules(text: str) -> set[str]:
    """Top-level names of every module ``text`` imports (anywhere in the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add((node.module or "").split(".")[0])
    return found


def load() -> types.ModuleType:
    """The built verifier as a fresh module (not ``compliance.evidence.verify_bundle``), for tools
    and tests that want to run exactly the code a bundle ships, in process."""
    module = types.ModuleType("custos_bundle_verify")
    module.__file__ = "verify.py"
    sys.modules[module.__name__] = module  # dataclasses resolves annotations through sys.modules
    exec(compile(source(), "verify.py", "exec"), module.__dict__)  # noqa: S102 -- our own, just-built source
    return module
