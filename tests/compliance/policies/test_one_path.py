"""Issue 12: one service per operation -- the same input gives the same result and the same ledger
events whatever the entry point.

Anonymization of the demo ``patients`` asset through the API (``POST /anonymization-runs``), the
command (``manage.py anonymize --asset ID --user steward``) and the Celery task
(``policies.anonymization_execute``, eager) -- there is no admin entry for it (runs are read-only
there). A retention run through the API, the command (``--user``) and the task. Each entry point
works on its own copy of the same data, so each starts from the same state.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from accounts.choices import Role
from audit.models import AuditEvent
from catalog import services as catalog_services
from catalog.models import Column
from compliance.anonymization import services as anonymization
from compliance.policies import tasks
from compliance.policies.actions import policies
from compliance.policies.models import AnonymizationRun, RetentionRun

pytestmark = pytest.mark.django_db

DEMO_PATIENTS = Path(settings.BASE_DIR) / "fixtures" / "data" / "hospital" / "patients.csv"
SURROGATE_COLUMNS = ["patient_id", "mrn"]  # random codes per run (164.514(c)): compared by structure
RUN_DEPENDENT = {"seconds", "rows_per_second"}  # timings


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def actions_since(first_id: int) -> list[tuple[str, str]]:
    """(action, acting user or component) of every event after ``first_id``, in order."""
    rows = AuditEvent.objects.filter(id__gt=first_id).order_by("id").values_list("action", "actor_type", "actor_id")
    return [(action, f"{kind}:{who}") for action, kind, who in rows]


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def stable(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in RUN_DEPENDENT}


@pytest.fixture
def patients(file_asset, users, settings, tmp_path):
    """``patients(name)``: a cataloged copy of the demo patients table, classified as the demo scan
    classifies it (``date_of_birth`` as DATE_TIME, ``first_name`` as PERSON)."""
    if not DEMO_PATIENTS.exists():
        pytest.skip("demo data not generated")
    settings.VAR_DIR = tmp_path / "var"
    frame = read(DEMO_PATIENTS)

    def make(name: str):
        asset = file_asset(frame, name, sensitivity="confidential")
        for column, entity in (("date_of_birth", "DATE_TIME"), ("first_name", "PERSON")):
            catalog_services.classification_assign(
                column=Column.objects.get(asset=asset, name=column), entity_type=entity, actor=users[Role.STEWARD], reason="t"
            )
        return asset

    return make, frame


def test_anonymization_gives_the_same_output_report_and_events_through_api_command_and_task(
    patients, users, api_as, django_capture_on_commit_callbacks, eager_celery
):
    make, source = patients
    steward = users[Role.STEWARD]
    results = {}

    # API: the view queues the run, the (eager) task does the work after commit
    asset = make("patients_api")
    first = last_event_id()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(Role.STEWARD).post(
            "/api/v1/anonymization-runs", {"asset": asset.pk, "policy": "hipaa-safe-harbor"}, format="json"
        )
    assert response.status_code in (201, 202), response.content
    results["api"] = (AnonymizationRun.objects.get(pk=response.json()["id"]), actions_since(first))

    # the command, as the steward
    asset = make("patients_cli")
    out = anonymization.default_output(asset, "hipaa-safe-harbor")
    out.parent.mkdir(parents=True, exist_ok=True)
    first = last_event_id()
    call_command(
        "anonymize",
        "--asset",
        str(asset.pk),
        "--user",
        steward.username,
        "--policy",
        "hipaa-safe-harbor",
        "--out",
        str(out),
        stdout=io.StringIO(),
    )
    results["cli"] = (AnonymizationRun.objects.get(source_asset=asset), actions_since(first))

    # the task, called on a queued run as a worker would (the after-commit delay is not run here)
    asset = make("patients_task")
    out = anonymization.default_output(asset, "hipaa-safe-harbor")
    out.parent.mkdir(parents=True, exist_ok=True)
    first = last_event_id()
    with django_capture_on_commit_callbacks(execute=False):
        queued = anonymization.anonymization_start(actor=steward, policy="hipaa-safe-harbor", source_asset=asset, output_path=out)
    tasks.anonymization_execute.delay(queued.pk, steward.pk)
    results["task"] = (AnonymizationRun.objects.get(pk=queued.pk), actions_since(first))

    reference_run, reference_events = results["api"]
    assert reference_run.status == "succeeded", reference_run.error
    assert reference_run.report["passed"] is True
    assert ("policies.anonymization.finish", f"user:{steward.pk}") in reference_events
    assert {actor for _, actor in reference_events} == {f"user:{steward.pk}"}  # nobody acts as the system
    reference_frame = read(reference_run.output_path)
    for entry, (run, events) in results.items():
        assert run.status == "succeeded", (entry, run.error)
        assert events == reference_events, entry
        assert stable(run.report) == stable(reference_run.report), entry
        frame = read(run.output_path)
        # every column but the random surrogates, byte for byte
        assert frame.drop(columns=SURROGATE_COLUMNS).to_csv(index=False) == reference_frame.drop(
            columns=SURROGATE_COLUMNS
        ).to_csv(index=False), entry
        for column in SURROGATE_COLUMNS:  # one code per original value, none of them an original
            assert frame.groupby(source[column])[column].nunique().eq(1).all(), (entry, column)
            assert not frame[column].isin(source[column]).any(), (entry, column)
        assert run.started_by == steward and run.target_asset is not None


def dated_rows(n: int = 120) -> pd.DataFrame:
    now = timezone.now()
    return pd.DataFrame(
        {
            "result_id": [f"R{i:04d}" for i in range(n)],
            "email": [f"person{i}@example.org" for i in range(n)],
            "collected_at": [(now - timedelta(days=3 * i, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(n)],
        }
    )


def test_retention_gives_the_same_report_and_events_through_api_command_and_task(file_asset, users, api_as, eager_celery):
    steward = users[Role.STEWARD]
    frame = dated_rows()
    results = {}

    def setup(name: str):
        asset = file_asset(frame, name)
        policy = policies.policy_create(
            actor=steward,
            name=f"{name} 90 days",
            kind="retention",
            assets=[asset],
            config={"max_age_days": 90, "date_column": "collected_at", "action": "delete_rows"},
        )
        return asset, policy

    def entry_api():
        response = api_as(Role.STEWARD).post("/api/v1/retention-runs", {"dry_run": False}, format="json")
        assert response.status_code == 201, response.content
        return RetentionRun.objects.get(pk=response.json()["id"])

    def entry_cli():
        call_command("retention_enforce", "--user", steward.username, stdout=io.StringIO())
        return RetentionRun.objects.latest("id")

    def entry_task():
        return RetentionRun.objects.get(pk=tasks.retention_enforce.delay(False, steward.pk).get())

    for entry, run_it in (("api", entry_api), ("cli", entry_cli), ("task", entry_task)):
        asset, policy = setup(f"labs_{entry}")
        first = last_event_id()
        run = run_it()
        events = actions_since(first)
        policies.policy_update(policy=policy, actor=steward, enabled=False)  # the next entry starts from the same estate
        (item,) = run.report["items"]
        results[entry] = (run, events, item, read(asset.location))

    _, reference_events, reference_item, reference_rows = results["api"]
    assert ("policies.retention.delete_rows", f"user:{steward.pk}") in reference_events
    assert {actor for _, actor in reference_events} == {f"user:{steward.pk}"}
    assert reference_item["outcome"] == "done" and 0 < reference_item["expired_rows"] < len(frame)
    for entry, (run, events, item, rows) in results.items():
        assert run.started_by == steward and run.dry_run is False, entry
        assert events == reference_events, entry
        assert {k: v for k, v in item.items() if k not in ("policy_id", "asset_id", "cutoff")} == {
            k: v for k, v in reference_item.items() if k not in ("policy_id", "asset_id", "cutoff")
        }, entry
        assert rows.equals(reference_rows), entry


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SERVICE, Role.AUDITOR])
def test_every_entry_point_gives_a_role_without_decide_the_same_refusal(patients, users, api_as, role, eager_celery):
    from django.core.management import CommandError

    make, _ = patients
    asset = make("patients_refused")
    user = users[role]
    response = api_as(role).post("/api/v1/anonymization-runs", {"asset": asset.pk, "policy": "hipaa-safe-harbor"}, format="json")
    assert response.status_code in (403, 404)
    out = anonymization.default_output(asset, "hipaa-safe-harbor")
    with pytest.raises(CommandError, match=f"refused: {role} may not decide anonymization runs"):
        call_command(
            "anonymize", "--asset", str(asset.pk), "--user", user.username, "--policy", "hipaa-safe-harbor", "--out", str(out)
        )
    with pytest.raises(CommandError, match=f"refused: {role} may not decide retention runs"):
        call_command("retention_enforce", "--user", user.username, stdout=io.StringIO())
    assert not AnonymizationRun.objects.exists() and not RetentionRun.objects.exists()


def test_a_queued_run_whose_user_is_gone_fails_and_never_runs_as_the_system(patients, users, django_capture_on_commit_callbacks):
    make, _ = patients
    steward = users[Role.STEWARD]
    asset = make("patients_gone")
    with django_capture_on_commit_callbacks(execute=False):
        run = anonymization.anonymization_start(actor=steward, policy="hipaa-safe-harbor", source_asset=asset)
    tasks.anonymization_execute.delay(run.pk, 10**9)  # no such user
    run.refresh_from_db()
    assert run.status == "failed" and "may not decide" in run.error
    assert not Path(run.output_path).exists()
    assert AuditEvent.objects.filter(action="policies.anonymization.fail", target_id=str(run.pk)).exists()


def test_free_text_scrubbing_and_its_verification_are_the_same_through_api_command_and_task(
    file_asset, users, api_as, django_capture_on_commit_callbacks, eager_celery, settings, tmp_path
):
    """Issue 13: the table's own identifiers (name parts included) leave the notes the same way,
    and the value search and the over-redaction tally say the same, whatever the entry point."""
    from tests.compliance.anonymization.conftest import patients_with_notes

    settings.VAR_DIR = tmp_path / "var"
    steward = users[Role.STEWARD]
    frame = patients_with_notes(40)
    runs = {}
    asset = file_asset(frame, "notes_api")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(Role.STEWARD).post(
            "/api/v1/anonymization-runs", {"asset": asset.pk, "policy": "hipaa-safe-harbor"}, format="json"
        )
    assert response.status_code in (201, 202), response.content
    runs["api"] = AnonymizationRun.objects.get(pk=response.json()["id"])
    asset = file_asset(frame, "notes_cli")
    out = anonymization.default_output(asset, "hipaa-safe-harbor")
    out.parent.mkdir(parents=True, exist_ok=True)
    call_command(
        "anonymize",
        "--asset",
        str(asset.pk),
        "--user",
        steward.username,
        "--policy",
        "hipaa-safe-harbor",
        "--out",
        str(out),
        stdout=io.StringIO(),
    )
    runs["cli"] = AnonymizationRun.objects.get(source_asset=asset)
    asset = file_asset(frame, "notes_task")
    with django_capture_on_commit_callbacks(execute=False):
        queued = anonymization.anonymization_start(actor=steward, policy="hipaa-safe-harbor", source_asset=asset)
    tasks.anonymization_execute.delay(queued.pk, steward.pk)
    runs["task"] = AnonymizationRun.objects.get(pk=queued.pk)

    reference = runs["api"].report
    search = next(c for c in reference["verification"]["checks"] if c["name"].startswith("identifier value search"))
    assert search["found"] == 0 and search["values"]["partial_forms"]["name parts"] > 0
    assert reference["free_text"]["known_identifier_words_removed"] == reference["free_text"]["known_identifier_words"] > 0
    name_parts = {p.lower() for name in frame["full_name"] for p in name.split()}
    for entry, run in runs.items():
        assert run.status == "succeeded", (entry, run.error)
        assert run.report["verification"] == reference["verification"], entry
        assert run.report["free_text"] == reference["free_text"], entry
        notes = read(run.output_path)["notes"]
        words = {w.lower() for note in notes for w in note.replace(".", " ").replace(",", " ").split()}
        assert not (words & name_parts), (entry, sorted(words & name_parts)[:5])
