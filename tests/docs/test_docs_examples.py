"""Every example in docs/ runs as written (issue 12: "the README's rows and every example in docs/
run as written from a fresh clone").

Three kinds of example, each checked the way a reader would use it:

* ``sh`` blocks are complete recipes against ``make demo`` (recipes for other setups, such as a
  production database, are fenced ``shell`` and only their ``manage.py`` lines are checked): each runs, as written, with bash in a
  fresh clone with the demo loaded and served (the only change: the demo server's port for
  ``127.0.0.1:8000``). It must exit 0, print no traceback and get no API error envelope.
* a ``python manage.py NAME ...`` line anywhere in a code block names a real command and only options
  that command has (synopses with placeholders included), so a reader copying it never meets
  "unrecognized arguments".
* such a line with no placeholder (no ``UPPERCASE`` word, ``[``, ``|`` or ``...``) is a literal
  command: it runs in the clone and exits 0.

Docs assume the virtualenv is active (``. .venv/bin/activate``): ``python`` is the clone's venv.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from tests.docs.conftest import REPO, clean_env

DOCS = sorted((REPO / "docs").glob("*.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
MANAGE = re.compile(r"\bpython manage\.py (\w+)(.*)")
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z0-9_]{1,}\b|\[|\||\.\.\.|…|<")


def blocks() -> list[tuple[str, str, str]]:
    """``(file name, info string, text)`` of every fenced code block in docs/."""
    return [(doc.name, m.group(1), m.group(2)) for doc in DOCS for m in FENCE.finditer(doc.read_text())]


def command_lines(*, in_sh: bool = True) -> list[tuple[str, str, str]]:
    """``(file, command, arguments)`` of every ``python manage.py`` line (continuations joined, shell
    comments dropped). ``in_sh=False`` leaves out the ``sh`` recipes (they run whole)."""
    found = []
    for name, info, text in blocks():
        if info == "sh" and not in_sh:
            continue
        for line in text.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].split(" # ", 1)[0].strip()
            match = MANAGE.search(line)
            if match:
                found.append((name, match.group(1), match.group(2).strip()))
    return found


def venv_env(clone: Path) -> dict[str, str]:
    env = clean_env()
    env["PATH"] = f"{clone / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_docs_have_examples_of_each_kind():
    assert any(info == "sh" for _, info, _ in blocks())
    assert len(command_lines()) >= 10


@pytest.mark.parametrize(("doc", "command", "arguments"), command_lines(), ids=lambda v: str(v)[:40])
def test_a_documented_command_line_names_a_real_command_and_real_options(doc, command, arguments):
    assert command in get_commands(), f"{doc}: no command {command!r}"
    parser = load_command_class(get_commands()[command], command).create_parser("manage.py", command)
    known = set(parser._option_string_actions)
    unknown = [flag for flag in re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", arguments) if flag not in known]
    assert unknown == [], f"{doc}: `manage.py {command}` has no option(s) {unknown}"


def test_every_sh_block_runs_as_written_against_the_demo(clone, demo_server):
    ran = 0
    for doc, info, text in blocks():
        if info != "sh":
            continue
        script = text.replace("127.0.0.1:8000", demo_server)
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=clone,
            env=venv_env(clone),
            capture_output=True,
            text=True,
            timeout=300,
        )
        where = f"{doc}:\n{text}\nstdout: {done.stdout[-1500:]}\nstderr: {done.stderr[-1500:]}"
        assert done.returncode == 0, where
        assert "Traceback" not in done.stderr, where
        assert '{"error":' not in done.stdout.replace(" ", ""), where
        ran += 1
    assert ran >= 1


def test_every_literal_command_line_runs_in_a_fresh_clone(clone):
    literal = [(doc, f"python manage.py {cmd} {args}".strip()) for doc, cmd, args in command_lines(in_sh=False)]
    literal = [(doc, line) for doc, line in literal if not PLACEHOLDER.search(line.split("manage.py", 1)[1])]
    assert literal, "no literal command line found in docs/"
    for doc, line in literal:
        done = subprocess.run(["bash", "-c", line], cwd=clone, env=venv_env(clone), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{doc}: {line}\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        assert "Traceback" not in done.stderr, f"{doc}: {line}\n{done.stderr[-1500:]}"
