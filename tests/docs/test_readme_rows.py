"""The README's rows, run literally in a fresh clone (issue 12: "the README's rows ... run as
written from a fresh clone, and leave ``git status`` clean").

The clone is ``git clone`` of this checkout (committed files only, as a newcomer gets them) with
this run's ``.venv`` linked in; ``demo_setup`` is what ``make demo`` runs before serving. Every
shell command in the README's "to | do" table is then run as written, in order, with bash; each
must exit 0. Runs on the embedded default only (the README's setting): the PostgreSQL pass skips.
"""

from __future__ import annotations

import re
import subprocess

from tests.docs.conftest import REPO, clean_env

COMMAND_START = ("CUSTOS_ENV=", "TOKEN=", "unzip ", ".venv/bin/python ")


def readme_commands() -> list[str]:
    """Shell commands of the README's "| to | do |" table, in order (code spans of the "do" cells)."""
    text = (REPO / "README.md").read_text()
    table = text.split("| to | do |", 1)[1].split("\n\n", 1)[0]
    commands = []
    for row in table.splitlines()[2:]:
        cells = row.split(" | ")
        commands += [span for span in re.findall(r"`([^`]+)`", cells[-1]) if span.startswith(COMMAND_START)]
    return commands


def test_the_readme_lists_its_commands():
    commands = readme_commands()
    assert any("manage.py scan" in c for c in commands) and any("evidence_export" in c for c in commands), commands


def test_every_readme_row_runs_as_written_and_leaves_the_clone_clean(clone):
    for command in readme_commands():
        done = subprocess.run(["bash", "-c", command], cwd=clone, env=clean_env(), capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{command}\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        assert "Traceback" not in done.stderr, f"{command}\n{done.stderr[-1500:]}"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True)
    changed = [line for line in status.stdout.splitlines() if line[3:] != ".venv"]
    assert changed == [], changed
