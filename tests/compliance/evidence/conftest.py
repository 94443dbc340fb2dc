"""Evidence test helpers: a ledger key per test, the demo bundle built once per session (the demo
load and its export run inside a transaction that is rolled back afterwards), tampering helpers
and a sandbox that runs verify.py with only the standard library and ``cryptography``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from audit import keys

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def ledger_key(tmp_path, settings):
    settings.CUSTOS_LEDGER_KEY_FILE = str(tmp_path / "ledger.key")
    settings.CUSTOS_LEDGER_TRUSTED_KEYS_FILE = str(tmp_path / "ledger.key.trusted")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    signer, _ = keys.generate_key(name=settings.CUSTOS_LEDGER_ORIGIN)
    return signer


@pytest.fixture(scope="session")
def demo_bundle(django_db_setup, django_db_blocker, tmp_path_factory):
    """(path, vkey, export) of an export of the demo data (demo_load with its PII scan, then the
    compliance evaluation), built once; the database is rolled back afterwards."""
    from django.conf import settings as django_settings
    from django.db import connection

    from compliance.evidence import services
    from compliance.policies.services import evaluate_all

    name = str(connection.settings_dict["NAME"])
    if "memory" not in name and "test" not in name:  # only requested by tests marked django_db
        pytest.fail(f"demo_bundle needs the test database, the connection points at {name}")
    base = tmp_path_factory.mktemp("demo-bundle")
    key_file = base / "ledger.key"
    with (
        override_settings(
            CUSTOS_LEDGER_KEY_FILE=str(key_file),
            CUSTOS_LEDGER_TRUSTED_KEYS_FILE=str(base / "trusted"),
            MEDIA_ROOT=str(base / "media"),
            CUSTOS_POLICY_KEY_DIR=str(base / "policy-keys"),
            # The demo's Safe Harbor run writes its output here: a data root like var/ (compliance.datasets).
            CUSTOS_DATA_ROOTS=[*django_settings.CUSTOS_DATA_ROOTS, base],
        ),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        from django.conf import settings

        signer, _ = keys.generate_key(name=settings.CUSTOS_LEDGER_ORIGIN)
        call_command("demo_load", "--no-logins", "--scan-sample", "200", stdout=open(base / "demo_load.log", "w"))  # noqa: SIM115
        evaluate_all(actor="tests")
        demo_activity(base)
        export = services.export_request(actor="tests", run_async=False)
        export = services.export_build(export_id=export.pk)
        assert export.status == "succeeded", export.error
        path = base / "demo.zip"
        shutil.copy(export.file_path, path)
        snapshot = {"export_id": export.pk, "first_seq": export.first_seq, "end_seq": export.end_seq, "sha256": export.sha256}
        transaction.set_rollback(True)
    return path, signer.verifier.vkey, snapshot


def demo_activity(base: Path) -> None:
    """What happens in a period besides catalog edits: access decisions (allowed and denied), a
    grant requested and approved, a refused de-anonymization, a HIPAA Safe Harbor run."""
    from django.core.exceptions import PermissionDenied

    from accounts.models import User
    from catalog.models import DataAsset
    from compliance.policies import services as policies

    users = {u.username: u for u in User.objects.all()}
    patients = DataAsset.objects.get(qualified_name="clinical.patients")
    customers = DataAsset.objects.get(qualified_name="retail.customers")
    policies.access_decide(user=users["auditor"], asset=patients, purpose="audit", actor=users["auditor"])
    policies.access_decide(user=users["viewer"], asset=customers, purpose="marketing", actor=users["viewer"])
    grant = policies.grant_request(
        user=users["viewer"], asset=customers, purpose="analytics", actor=users["viewer"], justification="churn study"
    )
    policies.grant_approve(grant=grant, actor=users["steward"], reason="aggregate analysis only")
    with pytest.raises(PermissionDenied):
        policies.token_reveal(token="siv:k1:AAAA", purpose="marketing", actor=users["viewer"], reason="curious")
    policies.anonymization_run(
        actor=users["steward"], policy="hipaa-safe-harbor", source_asset=patients, output_path=base / "patients_deid.parquet"
    )


def rewrite(src: Path, dst: Path, *, change=None, drop=(), add=None, order=None) -> Path:
    """Copy a bundle member by member: ``change`` maps name -> bytes -> bytes, ``drop`` removes
    members, ``add`` adds {name: bytes}. The attacker's tool: a clean zip, no CRC errors."""
    change = change or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info.filename)
            if info.filename in change:
                data = change[info.filename](data)
            zout.writestr(info, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def flip(data: bytes, at: int | None = None) -> bytes:
    """Flip one bit of one byte (the middle one unless ``at`` is given)."""
    index = len(data) // 2 if at is None else at
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _sandbox(root: Path) -> Path:
    """A directory holding only ``cryptography`` and what it imports (cffi), for ``python -I -S``."""
    import cryptography

    site = Path(cryptography.__file__).resolve().parent.parent
    box = root / "site"
    box.mkdir(exist_ok=True)
    for entry in site.iterdir():
        if entry.name.startswith(("cryptography", "cffi", "_cffi_backend", "pycparser")):
            target = box / entry.name
            if not target.exists():
                target.symlink_to(entry)
    return box


@pytest.fixture(scope="session")
def run_verifier(tmp_path_factory):
    """``run_verifier(bundle, *args)`` -> CompletedProcess of verify.py, extracted from the bundle
    into an empty directory and run by ``python -I -S`` whose only import path besides the standard
    library is a directory with ``cryptography`` (Django and Custos cannot be imported), with an
    empty environment."""
    root = tmp_path_factory.mktemp("verifier")
    site = _sandbox(root)

    def run(bundle: Path, *args: str) -> subprocess.CompletedProcess:
        work = root / f"run-{bundle.stem}"
        work.mkdir(exist_ok=True)
        with zipfile.ZipFile(bundle) as archive:
            (work / "verify.py").write_bytes(archive.read("verify.py"))
        bootstrap = (
            "import sys, runpy; "
            f"sys.path[:] = [p for p in sys.path if 'site-packages' not in p] + [{str(site)!r}]; "
            "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
        )
        return subprocess.run(
            [sys.executable, "-I", "-S", "-c", bootstrap, str(work / "verify.py"), str(bundle), *args],
            cwd=work,
            env={},  # a clean environment: nothing from the test run (settings, paths) reaches it
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run
