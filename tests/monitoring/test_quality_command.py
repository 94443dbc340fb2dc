"""``manage.py quality_check``: the checks on two files read through compliance.datasets, and bad input."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@pytest.fixture
def files(settings, tmp_path):
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    ref = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0] * 25, "city": ["a", "b", "a", "c"] * 25})
    cur = pd.DataFrame({"age": [10.0, 30.0, np.nan, 45.0], "city": ["a", "z", "b", None], "extra": [1, 2, 3, 4]})
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_parquet(tmp_path / "cur.parquet")
    return tmp_path / "ref.csv", tmp_path / "cur.parquet"


def _run(*args):
    out = StringIO()
    call_command("quality_check", *args, stdout=out)
    return out.getvalue()


def test_it_prints_every_check_as_json(files):
    ref, cur = files
    doc = json.loads(_run("--reference", str(ref), "--current", str(cur), "--json"))
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["schema"]["failed"] and checks["schema"]["details"]["added"] == ["extra"]
    assert checks["null_share:age"]["score"] == 0.25 and checks["null_share:age"]["failed"]  # 0 + 0.05 allowed
    assert checks["out_of_range:age"]["score"] == pytest.approx(1 / 3)
    assert checks["new_categories:city"]["score"] == pytest.approx(1 / 3) and checks["new_categories:city"]["failed"]
    fresh = checks["freshness"]  # no timestamp column, no arrival time: a row saying so, never a silent gap
    assert fresh["score"] is None and not fresh["failed"]
    assert fresh["rule"] == "not checked: no timestamp_column and no batch arrival time"
    assert doc["not_checked"] == sum(c["score"] is None for c in doc["checks"]) >= 1
    assert doc["failed"] == sum(c["failed"] for c in doc["checks"])


def test_it_refuses_a_bad_config_on_one_line(files):
    ref, cur = files
    with pytest.raises(CommandError, match="--config: unknown quality check"):
        _run("--reference", str(ref), "--current", str(cur), "--config", '{"nulls": true}')
    with pytest.raises(CommandError, match="--config"):
        _run("--reference", str(ref), "--current", str(cur), "--config", "{not json")
