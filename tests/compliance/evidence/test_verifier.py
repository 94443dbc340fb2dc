"""The demo export verifies offline with verify.py alone, and every kind of tampering is caught
with a message that names it."""

from __future__ import annotations

import ast
import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest

from audit import verify_core
from compliance.evidence import verifier
from tests.compliance.evidence.conftest import REPO, flip, rewrite

STDLIB = set(sys.stdlib_module_names)
# The demo bundle is built once on the test database (session fixture); tests only read the zip.
pytestmark = pytest.mark.django_db


def members(bundle: Path) -> list[str]:
    with zipfile.ZipFile(bundle) as archive:
        return archive.namelist()


def read(bundle: Path, name: str) -> bytes:
    with zipfile.ZipFile(bundle) as archive:
        return archive.read(name)


# In-process checks run the verifier exactly as a bundle ships it (built from audit/verify_core.py
# and compliance/evidence/verify_bundle.py), not the repository module.
SHIPPED = verifier.load()


def problems_of(bundle: Path, key: str | None = None) -> list[str]:
    problems, _ = SHIPPED.verify_bundle(bundle, key)
    return problems


def resign(manifest_bytes: bytes, signer: verify_core.Signer) -> bytes:
    return (
        json.dumps(
            {
                "algorithm": "Ed25519",
                "signed_file": "manifest.json",
                "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
                "verifier_key": signer.verifier.vkey,
                "key_id": signer.verifier.key_id.hex(),
                "signature": verify_core.b64(signer.sign(manifest_bytes)),
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    ).encode()


# --- intact --------------------------------------------------------------------------------------


def test_the_demo_export_verifies_in_a_clean_interpreter_with_only_cryptography(demo_bundle, run_verifier):
    path, vkey, snapshot = demo_bundle
    done = run_verifier(path, "--key", vkey)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("OK demo.zip:")
    assert f"ledger seq {snapshot['first_seq']}..{snapshot['end_seq'] - 1}" in lines[0] and "(pinned key)" in lines[0]
    unpinned = run_verifier(path)
    assert unpinned.returncode == 0 and "pass --key" in unpinned.stdout


def test_the_sandbox_really_cannot_import_django(run_verifier, tmp_path):
    probe = tmp_path / "probe.zip"
    with zipfile.ZipFile(probe, "w") as archive:
        archive.writestr("verify.py", "import sys\ntry:\n    import django\nexcept ImportError:\n    sys.exit(7)\nsys.exit(0)\n")
    assert run_verifier(probe).returncode == 7


def test_verify_py_imports_only_the_standard_library_and_cryptography():
    tree = ast.parse(verifier.source())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported - STDLIB == {"cryptography"}


def test_the_bundle_ships_exactly_the_verifier_the_build_produces(demo_bundle):
    path, _, _ = demo_bundle
    assert read(path, "verify.py") == verifier.source()


def test_the_shipped_verifier_holds_audit_verify_core_verbatim_and_no_repository_import():
    built = verifier.source().decode()
    core = (REPO / "audit" / "verify_core.py").read_text()
    body = core.split("from __future__ import annotations\n", 1)[1].strip("\n")
    assert body in built
    assert "from audit" not in built and "import django" not in built
    assert "from audit.verify_core import" in (REPO / "compliance" / "evidence" / "verify_bundle.py").read_text()


def test_the_build_refuses_a_verifier_that_would_import_a_non_standard_module(tmp_path, monkeypatch):
    part = (REPO / "compliance" / "evidence" / "verify_bundle.py").read_text()
    spoiled = tmp_path / "verify_bundle.py"
    spoiled.write_text(part.replace("import argparse\n", "import argparse\nimport django\n", 1))
    monkeypatch.setattr(verifier, "BUNDLE_PART", spoiled)
    with pytest.raises(verifier.VerifierBuildError, match="would import django"):
        verifier.source()


def test_the_built_verifier_runs_in_a_clean_environment_without_the_repository(demo_bundle, run_verifier, tmp_path):
    """The sandbox: ``python -I -S``, an empty environment, a working directory holding only
    verify.py, and an import path of the standard library plus ``cryptography``."""
    path, vkey, _ = demo_bundle
    probe = tmp_path / "probe.zip"
    with zipfile.ZipFile(probe, "w") as archive:
        archive.writestr("verify.py", "import os, sys\nsys.exit(0 if not os.environ.get('DJANGO_SETTINGS_MODULE') else 9)\n")
    assert run_verifier(probe).returncode == 0
    done = run_verifier(path, "--key", vkey)
    assert done.returncode == 0 and done.stdout.startswith("OK demo.zip:"), done.stdout + done.stderr


def test_the_bundle_holds_every_file_the_issue_lists(demo_bundle):
    path, _, _ = demo_bundle
    names = set(members(path))
    expected = {
        "manifest.json",
        "manifest.sig",
        "verify.py",
        "report.html",
        "ledger/events.jsonl",
        "ledger/checkpoint.txt",
        "ledger/prefix.json",
        "ledger/consistency.json",
        "evidence/inventory.json",
        "evidence/inventory.csv",
        "evidence/art30.json",
        "evidence/art30.csv",
        "evidence/ccpa.json",
        "evidence/hipaa_safe_harbor.json",
        "evidence/policies.json",
        "evidence/findings.json",
        "evidence/runs.json",
        "evidence/access.json",
        "evidence/deanonymization.json",
        "evidence/models.json",
        "lineage/graph.graphml",
        "lineage/graph.json",
    }
    assert expected <= names
    manifest = json.loads(read(path, "manifest.json"))
    assert {e["path"] for e in manifest["files"]} == names - {"manifest.json", "manifest.sig"}
    assert manifest["software"]["version"] and manifest["requested_by"]["name"] == "tests"
    assert manifest["parameters"]["as_of"] and manifest["filtered"] is False


# --- tampering -----------------------------------------------------------------------------------

DEMO_MEMBERS = [
    "README.txt",
    "verify.py",
    "report.html",
    "ledger/events.jsonl",
    "ledger/checkpoint.txt",
    "ledger/prefix.json",
    "ledger/consistency.json",
    "evidence/inventory.json",
    "evidence/inventory.csv",
    "evidence/art30.json",
    "evidence/art30.csv",
    "evidence/ccpa.json",
    "evidence/hipaa_safe_harbor.json",
    "evidence/policies.json",
    "evidence/findings.json",
    "evidence/runs.json",
    "evidence/access.json",
    "evidence/deanonymization.json",
    "evidence/models.json",
    "evidence/exports.json",
    # sections registered by monitoring (compliance.evidence.sections, docs/evidence.md 6.2)
    "evidence/monitoring.json",
    "evidence/monitoring_runs.csv",
    "evidence/monitoring_results.csv",
    "evidence/monitoring_alerts.csv",
    "evidence/quality_suites.json",
    "evidence/quality_runs.csv",
    "evidence/quality_results.csv",
    "evidence/quality_alerts.csv",
    "evidence/model_cards.json",
    "evidence/explanations.json",
    "evidence/explanations.csv",
    "evidence/fairness.json",
    "evidence/fairness.csv",
    "lineage/graph.graphml",
    "lineage/graph.json",
]


def test_the_tamper_list_covers_every_file_of_the_bundle(demo_bundle):
    path, _, _ = demo_bundle
    assert set(DEMO_MEMBERS) | {"manifest.json", "manifest.sig"} == set(members(path))


@pytest.mark.parametrize("name", DEMO_MEMBERS)
def test_a_flipped_byte_in_any_listed_file_is_caught_naming_the_file(demo_bundle, tmp_path, name):
    path, vkey, _ = demo_bundle
    bad = rewrite(path, tmp_path / "bad.zip", change={name: flip})
    problems = problems_of(bad, vkey)
    assert any(p.startswith(f"{name}: SHA-256") and "does not match the manifest" in p for p in problems), problems


def test_a_flipped_byte_in_the_manifest_breaks_its_signature(demo_bundle, tmp_path, run_verifier):
    path, vkey, _ = demo_bundle
    bad = rewrite(
        path, tmp_path / "bad.zip", change={"manifest.json": lambda b: b.replace(b'"filtered": false', b'"filtered": true ')}
    )
    done = run_verifier(bad, "--key", vkey)
    assert done.returncode == 1
    assert done.stdout.startswith("FAILED bad.zip:")
    assert "manifest.sig: the Ed25519 signature does not verify over manifest.json" in done.stdout


def test_a_flipped_byte_in_the_signature_is_caught(demo_bundle, tmp_path):
    path, vkey, _ = demo_bundle

    def damage(data: bytes) -> bytes:
        sig = json.loads(data)
        raw = bytearray(verify_core.unb64(sig["signature"]))
        raw[10] ^= 1
        sig["signature"] = verify_core.b64(bytes(raw))
        return json.dumps(sig).encode()

    problems = problems_of(rewrite(path, tmp_path / "bad.zip", change={"manifest.sig": damage}), vkey)
    assert any("signature does not verify" in p for p in problems), problems


def test_a_raw_byte_flip_in_the_zip_itself_is_caught(demo_bundle, tmp_path, run_verifier):
    path, vkey, _ = demo_bundle
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x40
    bad = tmp_path / "raw.zip"
    bad.write_bytes(bytes(data))
    done = run_verifier(bad, "--key", vkey)
    assert done.returncode == 1 and "FAILED" in done.stdout


def test_a_deleted_file_is_caught(demo_bundle, tmp_path, run_verifier):
    path, vkey, _ = demo_bundle
    bad = rewrite(path, tmp_path / "bad.zip", drop={"evidence/art30.csv"})
    done = run_verifier(bad, "--key", vkey)
    assert done.returncode == 1
    assert "- evidence/art30.csv: missing from the bundle (the manifest lists it)" in done.stdout


def test_an_added_file_is_caught(demo_bundle, tmp_path, run_verifier):
    path, vkey, _ = demo_bundle
    bad = rewrite(path, tmp_path / "bad.zip", add={"evidence/extra.json": b"{}"})
    done = run_verifier(bad, "--key", vkey)
    assert done.returncode == 1
    assert "- evidence/extra.json: extra file, not listed in the manifest" in done.stdout


def test_a_duplicate_member_name_is_caught(demo_bundle, tmp_path):
    path, vkey, _ = demo_bundle
    bad = rewrite(path, tmp_path / "bad.zip")
    with pytest.warns(UserWarning), zipfile.ZipFile(bad, "a") as archive:
        archive.writestr("report.html", b"<p>all fine</p>")
    assert any("report.html: appears twice" in p for p in problems_of(bad, vkey))


def _drop_event(data: bytes, index: int = 3) -> bytes:
    lines = data.splitlines(keepends=True)
    return b"".join(lines[:index] + lines[index + 1 :])


def test_a_dropped_ledger_event_is_caught(demo_bundle, tmp_path, run_verifier):
    path, vkey, snapshot = demo_bundle
    bad = rewrite(path, tmp_path / "bad.zip", change={"ledger/events.jsonl": _drop_event})
    done = run_verifier(bad, "--key", vkey)
    assert done.returncode == 1
    missing = snapshot["first_seq"] + 3
    assert (
        f"- ledger/events.jsonl: seq {missing} missing (line 4 holds seq {missing + 1}): the range is not contiguous"
        in done.stdout
    )
    assert "not the signed checkpoint's root" in done.stdout
    assert "ledger/events.jsonl: SHA-256" in done.stdout


def test_a_dropped_event_with_a_rebuilt_manifest_still_fails_the_checkpoint(demo_bundle, tmp_path):
    """Even someone holding the signing key who rewrites the manifest cannot hide a dropped event
    from the checkpoint root (a new checkpoint would need the log itself to change)."""
    path, vkey, _ = demo_bundle
    events = _drop_event(read(path, "ledger/events.jsonl"))
    manifest = json.loads(read(path, "manifest.json"))
    for entry in manifest["files"]:
        if entry["path"] == "ledger/events.jsonl":
            entry["sha256"], entry["size"] = hashlib.sha256(events).hexdigest(), len(events)
    signer = verify_core.Signer.generate("attacker")
    manifest["signing_key"] = signer.verifier.vkey
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
    bad = rewrite(
        path,
        tmp_path / "bad.zip",
        change={
            "ledger/events.jsonl": lambda _: events,
            "manifest.json": lambda _: manifest_bytes,
            "manifest.sig": lambda _: resign(manifest_bytes, signer),
        },
    )
    problems = problems_of(bad)  # trusting the key in the bundle: the checkpoint is still the real one
    assert any("the range is not contiguous" in p for p in problems), problems
    assert any(p.startswith("ledger/checkpoint.txt: the checkpoint does not verify with key attacker+") for p in problems), (
        problems
    )


def test_a_signature_by_another_key_is_caught(demo_bundle, tmp_path, run_verifier):
    path, vkey, _ = demo_bundle
    manifest_bytes = read(path, "manifest.json")
    other = verify_core.Signer.generate("custos.local/ledger")
    bad = rewrite(path, tmp_path / "bad.zip", change={"manifest.sig": lambda _: resign(manifest_bytes, other)})
    done = run_verifier(bad, "--key", vkey)
    assert done.returncode == 1
    assert (
        f"manifest.sig: the manifest is signed by key custos.local/ledger+{other.verifier.key_id.hex()}, not by the trusted key"
        in done.stdout
    )
    unpinned = problems_of(bad)
    assert any("names key" in p and "but manifest.json says it is signed by another key" in p for p in unpinned), unpinned
    assert any(p.startswith("ledger/checkpoint.txt: the checkpoint does not verify") for p in unpinned), unpinned


def test_a_bundle_wholly_re_signed_with_a_new_key_fails_against_the_pinned_key(demo_bundle, tmp_path):
    path, vkey, _ = demo_bundle
    other = verify_core.Signer.generate("custos.local/ledger")
    note = read(path, "ledger/checkpoint.txt").decode()
    text, _ = verify_core.parse_note(note)
    forged_note = verify_core.sign_note(text, other).encode()
    manifest = json.loads(read(path, "manifest.json"))
    for entry in manifest["files"]:
        if entry["path"] == "ledger/checkpoint.txt":
            entry["sha256"], entry["size"] = hashlib.sha256(forged_note).hexdigest(), len(forged_note)
    manifest["signing_key"] = other.verifier.vkey
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
    bad = rewrite(
        path,
        tmp_path / "bad.zip",
        change={
            "ledger/checkpoint.txt": lambda _: forged_note,
            "manifest.json": lambda _: manifest_bytes,
            "manifest.sig": lambda _: resign(manifest_bytes, other),
        },
    )
    assert problems_of(bad) == []  # self-consistent: only a pinned key tells the forgery apart
    pinned = problems_of(bad, vkey)
    assert any("not by the trusted key" in p for p in pinned), pinned
    assert any(p.startswith("ledger/checkpoint.txt: the checkpoint does not verify") for p in pinned), pinned


def test_an_evidence_record_citing_an_event_outside_the_range_is_caught(demo_bundle, tmp_path):
    path, vkey, snapshot = demo_bundle
    signer_less = json.loads(read(path, "evidence/runs.json"))
    cited = next(e for r in signer_less["runs"] for e in r["events"])
    cited["ledger"]["seq"] = snapshot["end_seq"] + 5
    runs = json.dumps(signer_less).encode()
    problems = problems_of(rewrite(path, tmp_path / "bad.zip", change={"evidence/runs.json": lambda _: runs}), vkey)
    assert (
        f"evidence cites ledger seq {snapshot['end_seq'] + 5}, outside the exported range {snapshot['first_seq']}..{snapshot['end_seq'] - 1}"
        in problems
    )


def test_a_key_that_is_not_a_vkey_is_a_clear_error(demo_bundle):
    path, _, _ = demo_bundle
    problems = problems_of(path, "not-a-key")
    assert problems and problems[0].startswith("--key: not a C2SP verifier key")


def test_a_record_that_misstates_the_action_of_the_event_it_cites_is_caught(demo_bundle, tmp_path):
    path, _, _ = demo_bundle
    access = json.loads(read(path, "evidence/access.json"))
    decision = access["decisions"][0]
    decision["action"] = (
        "policies.asset.sample_read" if decision["action"] != "policies.asset.sample_read" else "policies.access.decide"
    )
    changed = json.dumps(access).encode()
    manifest = json.loads(read(path, "manifest.json"))
    for entry in manifest["files"]:
        if entry["path"] == "evidence/access.json":
            entry["sha256"], entry["size"] = hashlib.sha256(changed).hexdigest(), len(changed)
    signer = verify_core.Signer.generate("insider")
    manifest["signing_key"] = signer.verifier.vkey
    manifest_bytes = json.dumps(manifest).encode()
    bad = rewrite(
        path,
        tmp_path / "bad.zip",
        change={
            "evidence/access.json": lambda _: changed,
            "manifest.json": lambda _: manifest_bytes,
            "manifest.sig": lambda _: resign(manifest_bytes, signer),
        },
    )
    problems = problems_of(bad)
    seq = decision["ledger"]["seq"]
    assert f"evidence cites seq {seq} as {decision['action']!r}, but that ledger event is another action" in problems, problems
