"""Issue 12, defect 14: ``manage.py anonymize ... --out sqlite:///<the app database>#audit_ledgerentry``
dropped the ledger table (triggers do not cover DROP) and every later command refused to start.

Run as a user would, in a separate process with its own var directory, so the database the command
refuses is a real file holding a real ledger (the test database of this process is in memory): the
command fails on one line with a non-zero status, the ledger table is still there with every entry,
and ``audit_verify`` still verifies it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings

from tests.compliance.policies.conftest import make_patients

REPO = Path(settings.BASE_DIR)


def manage(var: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUSTOS_", "DATABASE_URL"))}
    env |= {"CUSTOS_ENV": "test", "CUSTOS_VAR_DIR": str(var)}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def ledger_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM audit_ledgerentry").fetchone()[0]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    assert manage(var, "migrate", "-v0").returncode == 0
    data = var / "data"
    data.mkdir()
    make_patients(40).to_csv(data / "patients.csv", index=False)
    with sqlite3.connect(data / "clinic.db") as conn:
        make_patients(40, seed=3).to_sql("patients", conn, index=False)
    # some ledger history to lose: a key rotation and a real anonymization are audit events
    assert manage(var, "policy_keys", "--rotate").returncode == 0
    ok = manage(var, "anonymize", str(data / "patients.csv"), "--policy", "hipaa-safe-harbor", "--out", str(data / "out.csv"))
    assert ok.returncode in (0, 2), ok.stderr
    return var


@pytest.mark.parametrize("source", ["data/patients.csv", "sqlite:///{var}/data/clinic.db#patients"])
def test_anonymize_into_the_apps_own_database_is_refused_and_the_ledger_survives(sandbox, source):
    var = sandbox
    db = var / "custos.sqlite3"
    before = ledger_rows(db)
    assert before > 0
    src = source.format(var=var) if "{var}" in source else str(var / source)
    result = manage(var, "anonymize", src, "--policy", "hipaa-safe-harbor", "--out", f"sqlite:///{db}#audit_ledgerentry")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "own database" in lines[0]
    assert str(db) not in lines[0]  # the refusal names the rule, not the place
    assert ledger_rows(db) == before
    verify = manage(var, "audit_verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith("OK")


def test_a_sqlite_output_inside_the_data_roots_is_still_written(sandbox):
    var = sandbox
    out = var / "data" / "deid.db"
    result = manage(
        var,
        "anonymize",
        f"sqlite:///{var}/data/clinic.db#patients",
        "--policy",
        "hipaa-safe-harbor",
        "--out",
        f"sqlite:///{out}#patients",
    )
    assert result.returncode in (0, 2), result.stderr
    with sqlite3.connect(out) as conn:
        written = pd.read_sql("SELECT * FROM patients", conn)
    assert len(written) == 40 and not set(written["ssn"]) & set(make_patients(40, seed=3)["ssn"])
