"""The scan command on bad input (issue 17, item 2): one line, a non-zero exit, and -- when it
could record the scan -- a failed ScanRun with its audit event, whatever went wrong."""

from __future__ import annotations

import gzip
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from compliance.scanning.models import ScanRun

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(settings, tmp_path):
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_SCAN_ROOTS = [tmp_path]
    return tmp_path


def truncated_gz(root: Path) -> Path:
    body = b"id,email\n" + b"".join(f"{i},p{i}@example.org\n".encode() for i in range(50_000))
    data = gzip.compress(body)
    path = root / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def deep_jsonl(root: Path) -> Path:
    path = root / "deep.jsonl"
    path.write_text('{"a": 1}\n{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    return path


def assert_failed_and_audited(message: str) -> ScanRun:
    run = ScanRun.objects.get()
    assert run.status == "failed" and message in run.error
    assert AuditEvent.objects.filter(action="scanning.scan.fail", target_id=str(run.pk)).count() == 1
    return run


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (truncated_gz, "cut.csv.gz: the compressed file is truncated"),
        (deep_jsonl, "deep.jsonl: line 2 nests too deep to decode"),
    ],
)
def test_a_bad_file_fails_the_recorded_scan_in_one_line(root, make, message):
    path = make(root)
    with pytest.raises(CommandError) as caught:
        call_command("scan", str(path), stdout=StringIO(), stderr=StringIO())
    run = assert_failed_and_audited(message)
    assert str(caught.value).startswith(f"scan {run.pk} failed: ") and "\n" not in str(caught.value)


@pytest.mark.django_db
def test_a_crash_while_scanning_still_fails_the_run_with_an_audit_event(root, monkeypatch):
    import compliance.scanning.analysis as analysis

    path = root / "people.csv"
    path.write_text("id,email\n1,a@example.org\n")

    def out_of_memory(*args, **kwargs):
        raise MemoryError  # what the 1 GiB cell raised before the caps

    monkeypatch.setattr(analysis, "scan_chunk", out_of_memory)
    with pytest.raises(CommandError) as caught:
        call_command("scan", str(path), stdout=StringIO(), stderr=StringIO())
    run = assert_failed_and_audited("MemoryError while scanning")
    assert str(caught.value) == f"scan {run.pk} failed: MemoryError while scanning (--traceback shows where)"


@pytest.mark.parametrize("make", [truncated_gz, deep_jsonl])
def test_the_process_prints_one_line_and_exits_non_zero_without_a_traceback(tmp_path, make):
    path = make(tmp_path)
    proc = subprocess.run(
        [sys.executable, "manage.py", "scan", str(path), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "CUSTOS_ENV": "test",
            "CUSTOS_VAR_DIR": str(tmp_path / "var"),
            "CUSTOS_DATA_ROOTS": str(tmp_path),
        },
        timeout=120,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"CommandError: {path.name}: ")
