"""The fairness of a model version's logged production decisions has one service
(``services.fairness_check_production``) and two thin callers: ``POST
/api/v1/explain/model-versions/{id}/fairness`` and ``manage.py fairness_report --model-version ID --user
NAME``. Same input, same stored report, same findings and the same ledger events from either; the same
roles refused by both, with nothing stored."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from monitoring import services as monitoring_services
from monitoring.explain.models import FairnessAssessment, FairnessFinding
from tests.factories import AssetFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db

VOLATILE = {"id", "created_at", "at", "seq", "event_id"}


@pytest.fixture(autouse=True)
def roots(tmp_path, settings):
    settings.CUSTOS_DATA_ROOTS = [str(tmp_path)]
    from monitoring.explain import decisions

    decisions._ROWS.clear()
    return tmp_path


def _decisions(n=1000, seed=0):
    """Group a is selected twice as often as group b: the four-fifths screening flag fails."""
    rng = np.random.default_rng(seed)
    g = np.where(rng.random(n) < 0.5, "a", "b")
    p = np.where(g == "a", rng.random(n) < 0.6, rng.random(n) < 0.3).astype(int)
    y = np.where(rng.random(n) < 0.8, p, 1 - p)
    return pd.DataFrame({"prediction_id": [f"p-{i}" for i in range(n)], "g": g, "prediction": p, "label": y})


def _version_with_batches(users, roots):
    version = ModelVersionFactory()
    frame = _decisions()
    batches = [
        monitoring_services.batch_log(
            actor=users["steward"], model_version=version, rows=part[["prediction_id", "g", "prediction"]]
        )
        for part in (frame.iloc[:600], frame.iloc[600:])
    ]
    monitoring_services.batch_log(
        actor=users["steward"], model_version=version, rows=frame[["prediction_id", "label"]], kind="labels"
    )
    return version, batches


def _events_since(pk):
    """The ledger events written since ``pk``, without ids and times (compared across entry points)."""
    events = []
    for e in AuditEvent.objects.filter(pk__gt=pk).order_by("pk"):
        details = {k: v for k, v in (e.details or {}).items() if k not in {"findings", "assessment"}}  # ids
        events.append((e.action, e.actor_id, details))
    return events


def _via_api(api_as, version, body):
    return api_as("steward").post(f"/api/v1/explain/model-versions/{version.pk}/fairness", body, format="json")


def _via_command(version, *args):
    out = StringIO()
    call_command("fairness_report", "--model-version", str(version.pk), *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_api_and_the_command_store_the_same_assessment_findings_and_ledger_events(users, roots, api_as):
    version, batches = _version_with_batches(users, roots)
    body = {"group": ["g"], "label": "label", "limits": {"equalized_odds_difference": 0.01}}
    mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    response = _via_api(api_as, version, body)
    assert response.status_code == 201, response.content
    by_api = response.json()
    api_events = _events_since(mark)
    api_findings = sorted(FairnessFinding.objects.values_list("check_name", "status"))

    FairnessFinding.objects.all().delete()  # start the command from the same state of findings
    mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    by_cli = _via_command(
        version,
        "--user",
        users["steward"].username,
        "--group",
        "g",
        "--label",
        "label",
        "--limit",
        "equalized_odds_difference=0.01",
    )
    cli_events = _events_since(mark)

    stored_api, stored_cli = (
        FairnessAssessment.objects.get(pk=by_api["id"]),
        FairnessAssessment.objects.get(pk=by_cli["assessment"]),
    )
    assert stored_api.report == stored_cli.report and stored_api.dataset_sha256 == stored_cli.dataset_sha256
    assert by_cli["production_batches"] == [b.pk for b in batches] and by_cli["model_version"] == version.pk
    assert {k: by_cli[k] for k in by_api["report"]} == by_api["report"]  # the command prints the same document
    assert by_api["flagged"] is True and by_api["n"] == 1000 and stored_api.model_version_id == version.pk
    assert sorted(FairnessFinding.objects.values_list("check_name", "status")) == api_findings
    assert {c for c, _ in api_findings} == {"four_fifths", "equalized_odds_difference"}
    assert [a for a, _, _ in api_events] == [a for a, _, _ in cli_events]
    assert "explain.fairness_assess" in [a for a, _, _ in api_events]
    assert api_events == cli_events


@pytest.mark.parametrize("role", ["viewer", "auditor"])
def test_roles_without_add_are_refused_by_both_callers_and_nothing_is_stored(users, roots, api_as, role):
    version, _ = _version_with_batches(users, roots)
    before = AuditEvent.objects.count()
    response = api_as(role).post(f"/api/v1/explain/model-versions/{version.pk}/fairness", {"group": ["g"]}, format="json")
    assert response.status_code == 403, response.content
    with pytest.raises(CommandError, match="may not add fairness assessments"):
        _via_command(version, "--user", users[role].username, "--group", "g")
    assert not FairnessAssessment.objects.exists() and not FairnessFinding.objects.exists()
    assert AuditEvent.objects.count() == before


def test_a_version_the_caller_may_not_see_is_unknown_to_both(users, roots, api_as):
    version, _ = _version_with_batches(users, roots)
    version.training_datasets.add(AssetFactory(sensitivity="restricted"))
    response = api_as("service").post(f"/api/v1/explain/model-versions/{version.pk}/fairness", {"group": ["g"]}, format="json")
    assert response.status_code == 404
    with pytest.raises(CommandError, match="no such model version"):
        _via_command(version, "--user", users["service"].username, "--group", "g")
    assert not FairnessAssessment.objects.exists()


def test_bad_input_is_a_clear_4xx_and_a_one_line_command_error(users, roots, api_as):
    version, _ = _version_with_batches(users, roots)
    url = f"/api/v1/explain/model-versions/{version.pk}/fairness"
    bad = api_as("steward").post(url, {"group": ["sex"]}, format="json")
    assert bad.status_code == 400 and "no column" in json.dumps(bad.json())
    assert api_as("steward").post(url, {"group": []}, format="json").status_code == 400
    unknown_limit = api_as("steward").post(url, {"group": ["g"], "limits": {"accuracy": 0.1}}, format="json")
    assert unknown_limit.status_code == 400 and "unknown metric" in json.dumps(unknown_limit.json())
    with pytest.raises(CommandError, match="needs --user"):
        _via_command(version, "--group", "g")
    for bad in ("demographic_parity_difference", "demographic_parity_difference=nan", "=0.1", "x=-1"):
        with pytest.raises(CommandError, match="METRIC=VALUE"):
            _via_command(version, "--user", users["steward"].username, "--group", "g", "--limit", bad)
    with pytest.raises(CommandError, match="no column"):
        _via_command(version, "--user", users["steward"].username, "--group", "sex")
    assert not FairnessAssessment.objects.exists()


def test_the_file_mode_keeps_its_contract_and_refuses_model_version_options(roots, users):
    path = roots / "decisions.csv"
    _decisions().to_csv(path, index=False)
    out = StringIO()
    call_command("fairness_report", "--data", str(path), "--prediction", "prediction", "--group", "g", "--json", stdout=out)
    doc = json.loads(out.getvalue())
    assert {"groups", "demographic_parity_difference", "demographic_parity_ratio", "four_fifths"} <= set(doc)
    assert "assessment" not in doc and not FairnessAssessment.objects.exists()
    with pytest.raises(CommandError, match="apply to --model-version only"):
        call_command("fairness_report", "--data", str(path), "--prediction", "prediction", "--group", "g", "--user", "x")
    with pytest.raises(CommandError, match="needs --prediction"):
        call_command("fairness_report", "--data", str(path), "--group", "g")
