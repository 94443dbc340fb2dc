"""Evidence bundles are private files (issue 17, item 9): mode 0600 in a 0700 directory made for
them, whatever the umask."""

import os
import stat

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_a_bundle_is_written_readable_by_its_owner_only(ledger_key, tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "new-dir" / "evidence.zip"
        call_command("evidence_export", "--out", str(out), "--from", "2000-01-01")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
