"""Settings read from the environment with secure defaults; the deploy check passes with
production-like values. Each case runs a fresh interpreter so it sees only its environment."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def manage(*args, env_overrides, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"CUSTOS_ENV", "SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    env.update({"CUSTOS_VAR_DIR": str(tmp_path), "CELERY_BROKER_URL": "memory://", **env_overrides})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900
    )  # a hang guard, not a speed check: a full migrate took >120 s at load 20


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = manage("check", env_overrides={}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "needs SECRET_KEY" in result.stderr


def test_the_deploy_check_passes_with_production_like_values(tmp_path):
    key_file = tmp_path / "secret"
    key_file.write_text(secrets.token_urlsafe(64))
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={"CUSTOS_ENV": "production", "SECRET_KEY_FILE": str(key_file), "ALLOWED_HOSTS": "custos.example.org"},
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_malformed_boolean_is_a_clear_error(tmp_path, value):
    result = manage("check", env_overrides={"CUSTOS_ENV": "development", "DEBUG": value}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def _beat_and_mlflow(tmp_path, **env):
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps([s.CELERY_BEAT_SCHEDULE.get('explain-mlflow-sync'), s.CUSTOS_MLFLOW_TRACKING_URI, "
        "s.CUSTOS_MLFLOW_TOKEN]))"
    )
    result = manage("shell", "-c", code, env_overrides={"CUSTOS_ENV": "development", **env}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_mlflow_sync_is_scheduled_only_when_a_tracking_server_is_configured(tmp_path):
    assert _beat_and_mlflow(tmp_path) == [None, "", None]
    token = tmp_path / "mlflow.token"
    token.write_text("s3cret\n")
    entry, uri, secret = _beat_and_mlflow(
        tmp_path,
        CUSTOS_MLFLOW_TRACKING_URI="http://mlflow.internal:5000",
        CUSTOS_MLFLOW_TOKEN_FILE=str(token),
        CUSTOS_MLFLOW_SYNC_SECONDS="120",
    )
    assert entry == {"task": "explain.mlflow_sync", "schedule": 120.0}
    assert (uri, secret) == ("http://mlflow.internal:5000", "s3cret")
