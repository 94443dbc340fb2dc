"""`manage.py drift_report`: the JSON contract on files read through compliance.datasets, and bad input."""

import json
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

GOLDEN_DIR = Path(__file__).parent / "golden"
sys.path.insert(0, str(GOLDEN_DIR))
import datasets  # noqa: E402

GOLDEN = json.loads((GOLDEN_DIR / "evidently-0.7.23.json").read_text())


@pytest.fixture
def files(settings, tmp_path):
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    ref, cur, _ = datasets.case("small")
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_parquet(tmp_path / "cur.parquet")
    return tmp_path / "ref.csv", tmp_path / "cur.parquet"


def _run(*args):
    out = StringIO()
    call_command("drift_report", *args, stdout=out)
    return out.getvalue()


def test_it_prints_the_json_contract_with_evidentlys_decisions(files):
    ref, cur = files
    columns = ["num_same", "num_shift", "num_4", "num_binary", "cat_color", "cat_yesno", "int_wide"]
    doc = json.loads(_run("--reference", str(ref), "--current", str(cur), "--columns", ",".join(columns), "--json"))
    assert set(doc) == {"dataset_drift", "share_drifted", "columns"}
    assert [c["name"] for c in doc["columns"]] == columns
    golden = GOLDEN["cases"]["small"]["default"]["columns"]
    for col in doc["columns"]:
        assert set(col) == {"name", "method", "score", "threshold", "drifted", "n_ref", "n_cur"}
        exp = golden[col["name"]]
        # the CSV carries no kinds: they are inferred as Evidently infers them (int_wide: integer, > 10 values -> num)
        assert (col["method"], col["drifted"], col["threshold"]) == (exp["method"], exp["drifted"], exp["threshold"])
        assert col["score"] == pytest.approx(exp["score"], rel=1e-9, abs=1e-12)
    drifted = sum(c["drifted"] for c in doc["columns"])
    assert doc["share_drifted"] == drifted / len(columns)
    assert doc["dataset_drift"] == (drifted / len(columns) >= 0.5)


def test_it_exits_zero_without_drift(files):
    ref, _ = files
    doc = json.loads(_run("--reference", str(ref), "--current", str(ref), "--columns", "num_same,cat_color", "--json"))
    assert doc["dataset_drift"] is False and not any(c["drifted"] for c in doc["columns"])


def test_it_refuses_a_location_outside_the_data_roots(files, tmp_path_factory):
    ref, _ = files
    outside = tmp_path_factory.mktemp("elsewhere") / "x.csv"
    outside.write_text("a\n1\n")
    with pytest.raises(CommandError, match="^current location refused: .*data roots"):
        _run("--reference", str(ref), "--current", str(outside))


def test_it_names_a_missing_column_in_one_line(files):
    ref, cur = files
    with pytest.raises(CommandError) as exc:
        _run("--reference", str(ref), "--current", str(cur), "--columns", "num_same,nope")
    assert "nope" in str(exc.value) and "\n" not in str(exc.value)


def test_it_refuses_a_method_that_does_not_fit_a_column(files):
    ref, cur = files
    with pytest.raises(CommandError, match="does not apply to cat column 'cat_color'"):
        _run("--reference", str(ref), "--current", str(cur), "--columns", "cat_color", "--method", "ks")


def test_it_exits_non_zero_with_one_line_from_the_shell(files):
    import subprocess

    ref, _ = files
    done = subprocess.run(
        [sys.executable, "manage.py", "drift_report", "--reference", str(ref), "--current", "/nonexistent/cur.csv"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={"CUSTOS_ENV": "test", "CUSTOS_DATA_ROOTS": str(ref.parent), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.django_db
def test_it_reports_a_model_versions_monitor_on_its_logged_batches(users, version, reference_asset):
    from monitoring import services
    from monitoring.stats.drift import drift_frames
    from tests.monitoring.conftest import make_frame

    features = ["age", "income", "region", "score"]
    services.monitor_create(
        actor=users["steward"], model_version=version, name="inputs", reference_asset=reference_asset, columns=features
    )
    current = make_frame(1200, seed=21, shift=0.6)
    services.batch_log(actor=users["service"], model_version=version, rows=current)
    doc = json.loads(_run("--model-version", str(version.pk), "--json"))
    from compliance import datasets as cd

    expected = drift_frames(cd.read_frame(reference_asset), current, columns=features)
    assert [c["name"] for c in doc["columns"]] == features
    for col, exp in zip(doc["columns"], expected.columns, strict=True):
        assert (col["method"], col["drifted"]) == (exp.method, exp.drifted)
        assert col["score"] == pytest.approx(exp.score, abs=1e-12)
    assert doc["dataset_drift"] == expected.dataset_drift
    with pytest.raises(CommandError, match="no active monitor"):
        _run("--model-version", str(version.pk), "--monitor", "other", "--json")
    with pytest.raises(CommandError, match="give --reference and --current"):
        _run("--current", "x.csv")
