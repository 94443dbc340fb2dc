"""Monitoring, model cards, explanations and fairness in an evidence bundle (compliance.evidence.sections):
an export with a monitored model carries the sections as JSON and CSV, listed in the signed manifest,
shown in the report, citing ledger events of the range, and the shipped verifier passes offline."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from compliance.evidence import sections, services
from monitoring import services as monitoring
from monitoring.choices import AlertState
from monitoring.models import Alert
from tests.compliance.evidence.conftest import flip, ledger_key, rewrite, run_verifier  # noqa: F401 - fixtures
from tests.monitoring.test_pages import build_monitored_model

pytestmark = pytest.mark.django_db

NEW_FILES = {
    "evidence/monitoring.json",
    "evidence/monitoring_runs.csv",
    "evidence/monitoring_results.csv",
    "evidence/monitoring_alerts.csv",
    "evidence/model_cards.json",
    "evidence/explanations.json",
    "evidence/explanations.csv",
    "evidence/fairness.json",
    "evidence/fairness.csv",
    "evidence/quality_suites.json",
    "evidence/quality_runs.csv",
    "evidence/quality_results.csv",
    "evidence/quality_alerts.csv",
}


@pytest.fixture
def bundle(users, roots, ledger_key, tmp_path):  # noqa: F811 - the fixture imported above
    built = build_monitored_model(users, roots)
    alert = Alert.objects.filter(monitor=built.monitor, state=AlertState.OPEN).order_by("pk").first()
    monitoring.alert_acknowledge(actor=users["steward"], alert=alert, reason="seasonal campaign")
    export = services.export_request(actor=users["auditor"], run_async=False)
    export = services.export_build(export_id=export.pk)
    assert export.status == "succeeded", export.error
    return built, alert, export


def read(path, name) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def rows(path, name) -> list[dict]:
    return list(csv.DictReader(io.StringIO(read(path, name).decode("utf-8"))))


def test_the_bundle_carries_the_monitoring_sections_in_its_manifest(bundle):
    built, alert, export = bundle
    manifest = json.loads(read(export.file_path, "manifest.json"))
    listed = {f["path"] for f in manifest["files"]}
    assert listed >= NEW_FILES
    first, end = manifest["ledger"]["first_seq"], manifest["ledger"]["end_seq"]

    doc = json.loads(read(export.file_path, "evidence/monitoring.json"))
    assert doc["view"]["ledger_range"] == {"first_seq": first, "end_seq": end}
    (m,) = [x for x in doc["monitors"] if x["id"] == built.monitor.pk]
    assert len(m["runs"]) == 2 and all(r["current_sha256"] and r["library_versions"] for r in m["runs"])
    assert {r["name"] for r in m["runs"][-1]["results"] if r["kind"] == "drift"} == {"age", "income", "region"}
    (a,) = [x for x in m["alerts"] if x["id"] == alert.pk]
    assert a["state"] == "acknowledged" and a["acknowledge_reason"] == "seasonal campaign"
    ack = [e for e in a["events"] if e["action"] == "monitoring.alert_acknowledge"]
    assert ack and first <= ack[0]["ledger"]["seq"] < end and len(ack[0]["ledger"]["leaf_hash"]) == 44  # base64

    run_csv = rows(export.file_path, "evidence/monitoring_runs.csv")
    assert [int(r["run_id"]) for r in run_csv] == [r["id"] for r in m["runs"]]
    assert all(r["view"].startswith("complete view as of") for r in run_csv)
    alerts_csv = rows(export.file_path, "evidence/monitoring_alerts.csv")
    assert any(r["acknowledge_reason"] == "seasonal campaign" and r["state"] == "acknowledged" for r in alerts_csv)
    results_csv = rows(export.file_path, "evidence/monitoring_results.csv")
    assert len(results_csv) == sum(len(r["results"]) for r in m["runs"])

    cards = json.loads(read(export.file_path, "evidence/model_cards.json"))["cards"]
    ids = {c["model_version_id"] for c in cards}
    assert {built.version.pk, built.hidden.pk} <= ids  # a complete view: the restricted version too
    (card,) = [c for c in cards if c["model_version_id"] == built.version.pk]
    assert card["considerations"]["use_cases"] == ["Prioritise retention calls."] and card["annex_iv"]["items"]

    fairness = json.loads(read(export.file_path, "evidence/fairness.json"))["assessments"]
    (f,) = fairness
    assert f["attributes"] == ["region"] and f["n"] == 1200 and f["events"][0]["action"] == "explain.fairness_assess"
    groups = rows(export.file_path, "evidence/fairness.csv")
    assert sorted(g["group"] for g in groups) == ["east", "north", "south"]
    explanations = json.loads(read(export.file_path, "evidence/explanations.json"))["explanations"]
    assert {e["scope"] for e in explanations} == {"local", "global"}
    local = next(e for e in explanations if e["scope"] == "local")
    assert local["explainer"] == "treeshap-path-dependent" and local["rows"] == 1 and local["top_contributions"]
    assert local["events"][0]["action"] == "explain.explanation_create" and local["max_abs_residual"] < 1e-9
    glob = next(e for e in explanations if e["scope"] == "global")
    assert {t["feature"] for t in glob["permutation_importance"]} == {"age", "income", "score"}
    assert "partial_dependence" not in json.dumps(glob) and "ice" not in glob  # curves from data values stay out
    assert len(rows(export.file_path, "evidence/explanations.csv")) == 2

    report = read(export.file_path, "report.html").decode()
    for title in ("Model monitoring", "Model cards and Annex IV drafts", "Explanations", "Fairness assessments"):
        assert "<h2 id=" in report and title in report
    assert "seasonal campaign" in report and "evidence/monitoring_alerts.csv" in report
    # the period's plots are in the report as data: URIs (one offline file), drawn from monitoring.json's numbers
    import base64
    import re

    plots = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', report)
    svgs = [base64.b64decode(p).decode() for p in plots]
    assert len(svgs) >= 2 and all(svg.startswith("<svg") for svg in svgs)
    assert any("dataset (dataset_drift)" in svg for svg in svgs) and any("age (drift)" in svg for svg in svgs)


def test_no_prediction_id_or_row_value_leaves_in_the_new_sections(bundle):
    _, _, export = bundle
    for name in NEW_FILES:
        text = read(export.file_path, name).decode()
        assert "p10-" not in text and "p11-" not in text and "p5-" not in text, name  # logged prediction ids


def test_the_shipped_verifier_passes_and_catches_a_changed_monitoring_file(bundle, run_verifier, ledger_key, tmp_path):  # noqa: F811
    _, _, export = bundle
    ok = run_verifier(Path(export.file_path), "--key", ledger_key.verifier.vkey)
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stdout + ok.stderr
    for name in ("evidence/monitoring.json", "evidence/fairness.csv"):
        bad = rewrite(export.file_path, tmp_path / f"bad-{name.replace('/', '_')}.zip", change={name: flip})
        result = run_verifier(bad, "--key", ledger_key.verifier.vkey)
        assert result.returncode == 1 and f"- {name}: SHA-256" in result.stdout, result.stdout


def test_a_section_may_not_take_a_built_in_file_name():
    with pytest.raises(ValueError, match="collide"):
        sections.register("inventory", title="x", collect=lambda ctx: {})
    with pytest.raises(ValueError, match="collide"):
        sections.register("other", title="x", collect=lambda ctx: {}, tables=[sections.Table("art30", ("a",), lambda d: [])])
    assert [s.key for s in sections.registered()] == ["monitoring", "quality_suites", "model_cards", "explanations", "fairness"]


def test_the_built_in_files_keep_their_bytes_with_the_sections_registered(users, roots, ledger_key, tmp_path, monkeypatch):  # noqa: F811
    from django.utils import timezone

    from audit.sequencer import sequence_pending
    from compliance.evidence import bundle as bundles

    build_monitored_model(users, roots)
    sequence_pending()
    request = bundles.Request(
        export_id=None, requested_by={"name": "tests", "id": ""}, period_from=None, period_to=timezone.now()
    )
    with_sections = bundles.build(request, tmp_path / "with.zip")
    monkeypatch.setattr(sections, "_sections", {})
    without = bundles.build(request, tmp_path / "without.zip")
    with zipfile.ZipFile(with_sections.path) as a, zipfile.ZipFile(without.path) as b:
        names_a, names_b = set(a.namelist()), set(b.namelist())
        assert names_a - names_b == NEW_FILES and names_b <= names_a
        for name in sorted(names_b - {"report.html", "manifest.json", "manifest.sig"}):
            assert a.read(name) == b.read(name), name
