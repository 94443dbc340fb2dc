"""Defect 8: configuration mistakes print one line naming what to set, never a traceback; a command
run without CUSTOS_ENV after ``demo_setup`` uses the demo profile (``<var>/profile``)."""

import pytest

from tests.config.test_settings import manage


def one_line_error(result):
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("custos: "), result.stderr
    return lines[0]


def test_it_names_the_profiles_when_custos_env_is_mistyped(tmp_path):
    line = one_line_error(manage("check", env_overrides={"CUSTOS_ENV": "demoo"}, tmp_path=tmp_path))
    assert "CUSTOS_ENV must be one of production, demo, development, test" in line
    assert "demoo" not in line


def test_it_names_the_accepted_values_when_debug_is_not_a_boolean(tmp_path):
    line = one_line_error(manage("check", env_overrides={"CUSTOS_ENV": "demo", "DEBUG": "maybe"}, tmp_path=tmp_path))
    assert "DEBUG must be a boolean" in line and "maybe" not in line


@pytest.mark.parametrize("command", [("token_create", "etl", "--role", "service"), ("check",), ("migrate",)])
def test_a_command_without_custos_env_says_what_to_set(tmp_path, command):
    line = one_line_error(manage(*command, env_overrides={}, tmp_path=tmp_path))
    assert "SECRET_KEY" in line and "CUSTOS_ENV is unset" in line and "CUSTOS_ENV=demo" in line


def test_the_readme_token_row_works_without_custos_env_after_demo_setup(tmp_path):
    """README: ``TOKEN=$(.venv/bin/python manage.py token_create etl --role service)``, literally."""
    from config.env import write_profile_marker

    # what demo_setup does first (the full demo_setup is exercised in tests/demo)
    write_profile_marker(tmp_path, "demo")
    migrated = manage("migrate", "-v0", env_overrides={}, tmp_path=tmp_path)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    result = manage("token_create", "etl", "--role", "service", env_overrides={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().startswith("cst_") and len(result.stdout.strip().splitlines()) == 1


def test_token_create_with_negative_days_is_one_line(tmp_path):
    from config.env import write_profile_marker

    write_profile_marker(tmp_path, "demo")
    assert manage("migrate", "-v0", env_overrides={}, tmp_path=tmp_path).returncode == 0
    result = manage("token_create", "etl", "--role", "service", "--days", "-1", env_overrides={}, tmp_path=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "CommandError: --days must be at least 1: a token always expires"
