"""The batch intake's one-savepoint path gives what applying the same events one by one gives."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog.models import Column, DataAsset
from lineage.models import DatasetFacets, Edge, Job, LineageEvent, Run
from lineage.openlineage import event_ingest, event_ingest_batch, reset_caches
from tests.lineage.helpers import dataset, facet, run_event

pytestmark = pytest.mark.django_db


def _rid(n: int) -> str:
    return str(uuid.UUID(int=n, version=4))


def _first_batch() -> list[dict]:
    src = dataset("raw.orders", columns=["id", "email", "amount"])
    out = dataset(
        "stg.orders", lineage={"id": [("raw.orders", "id", False, "IDENTITY")], "email": [("raw.orders", "email", True, "HASH")]}
    )
    return [
        run_event("load", [src], [out], event_type="START", run_id=_rid(1), time="2025-02-01T01:00:00Z"),
        run_event("load", [src], [out], run_id=_rid(1), time="2025-02-01T01:05:00Z"),
    ]


def _second_batch(first: list[dict]) -> list[dict]:
    narrower = dataset("stg.orders", lineage={"id": [("raw.orders", "id", False, "IDENTITY")]})
    mart = dataset(
        "mart.orders",
        columns=["day", "total"],
        lineage={"total": [("stg.orders", "id", False, "AGGREGATION"), ("raw.orders", "amount", False, "SUM")]},
        # Dataset-wide inputs: a known column and one the batch registers.
        wide=[("raw.orders", "amount", "FILTER"), ("raw.orders", "created_at", "GROUP_BY")],
    )
    model = {"namespace": "mlflow://registry", "name": "fraud/1", "facets": {"custosModel": facet(model="fraud", version="1")}}
    sql = {"sql": facet(query="INSERT INTO mart.orders SELECT ...")}
    complete = run_event(
        "mart",
        [dataset("stg.orders"), dataset("raw.orders")],
        [mart],
        run_id=_rid(3),
        time="2025-02-02T02:10:00Z",
        job_facets=sql,
    )
    return [
        first[1],  # stored before: duplicate
        # The load job's next run lists fewer column edges: email's edge closes.
        run_event("load", [dataset("raw.orders")], [narrower], event_type="START", run_id=_rid(2), time="2025-02-02T01:00:00Z"),
        run_event("load", [dataset("raw.orders")], [narrower], run_id=_rid(2), time="2025-02-02T01:05:00Z"),
        complete,  # COMPLETE before its START (out of order), new datasets and columns
        run_event(
            "mart",
            [dataset("stg.orders")],
            [dataset("mart.orders")],
            event_type="START",
            run_id=_rid(3),
            time="2025-02-02T02:00:00Z",
        ),
        complete,  # twice in one batch: duplicate
        run_event("train", [dataset("mart.orders")], [model], run_id=_rid(4), time="2025-02-02T03:00:00Z"),
        {
            "eventTime": "2025-02-02T04:00:00Z",
            "producer": "https://github.com/example-org/pipelines/tree/v1",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
            "dataset": dataset("raw.customers", columns=["id", "name"]),
        },
        {"eventTime": "not a time"},  # invalid
    ]


def _state() -> dict:
    asset = dict(DataAsset.objects.values_list("pk", "qualified_name"))
    column = {c.pk: f"{asset[c.asset_id]}.{c.name}" for c in Column.objects.all()}
    job = dict(Job.objects.values_list("pk", "name"))
    run = dict(Run.objects.values_list("pk", "run_id"))
    node = {"asset": asset, "column": column, "job": job, "model_version": {}}

    def name(node_type, node_id):
        return node[node_type].get(node_id, f"{node_type}:?")

    return {
        "events": sorted(LineageEvent.objects.values_list("digest", flat=True)),
        "runs": sorted(
            (
                str(r.run_id),
                job[r.job_id],
                r.state,
                str(r.started_at),
                str(r.ended_at),
                str(r.last_event_time),
                r.sql,
                json.dumps(r.facets, sort_keys=True),
            )
            for r in Run.objects.all()
        ),
        "jobs": sorted((j.name, j.sql, json.dumps(j.facets, sort_keys=True), j.parent_id is not None) for j in Job.objects.all()),
        "columns": sorted(column.values()),
        "facets": sorted((asset[f.asset_id], json.dumps(f.facets, sort_keys=True)) for f in DatasetFacets.objects.all()),
        "edges": sorted(
            (
                e.kind,
                name(e.src_type, e.src_id),
                e.dst_type if e.dst_type == "model_version" else name(e.dst_type, e.dst_id),
                e.transformation_subtype,
                e.masking,
                str(e.valid_from),
                str(e.valid_to),
                "(wall clock)" if e.kind == "trained_on" else str(e.last_seen_at),  # re-linked after commit at now()
                str(run.get(e.run_id)),
                str(run.get(e.last_run_id)),
                job.get(e.job_id),
                e.transformation_type,
            )
            for e in Edge.objects.all()
        ),
    }


def test_a_batch_applied_together_equals_the_same_events_one_by_one(make_user, django_capture_on_commit_callbacks, caplog):
    actor = make_user("service")
    first = _first_batch()
    with django_capture_on_commit_callbacks(execute=True):
        event_ingest_batch(payloads=first, actor=actor)
    second = _second_batch(first)

    with transaction.atomic():
        with caplog.at_level(logging.WARNING, logger="lineage.openlineage"), django_capture_on_commit_callbacks(execute=True):
            results = event_ingest_batch(payloads=second, actor=actor)
        assert "one by one" not in caplog.text  # the one-savepoint path applied it
        together = _state()
        transaction.set_rollback(True)
    reset_caches()  # the rolled-back registrations were published to the process caches

    one_by_one = []
    for payload in second[:-1]:
        with django_capture_on_commit_callbacks(execute=True):
            one_by_one.append(event_ingest(payload=payload, actor=actor)["status"])

    assert [r["status"] for r in results] == [*one_by_one, "invalid"]
    assert one_by_one == ["duplicate", "applied", "applied", "applied", "applied", "duplicate", "applied", "applied"]
    assert results[5]["event_id"] == results[3]["event_id"]
    assert _state() == together
    assert Edge.objects.filter(valid_to__isnull=False, kind="derives").count() == 1  # the email edge closed
    wide = {(e[1], e[2], e[3]) for e in together["edges"] if e[0] == "derives" and e[-1] == "INDIRECT"}
    assert wide == {
        (src, f"mart.orders.{out}", subtype)
        for src, subtype in (("raw.orders.amount", "FILTER"), ("raw.orders.created_at", "GROUP_BY"))
        for out in ("day", "total")
    } - {("raw.orders.amount", "mart.orders.total", "FILTER")}  # amount -> total is a field-level edge


def _load(
    run: int, time: str, *, email_masked: bool, extra: bool = False, event_type: str = "COMPLETE", wide: list | None = None
) -> dict:
    lineage = {"id": [("raw.users", "id", False, "IDENTITY")], "email": [("raw.users", "email", email_masked, "HASH")]}
    if extra:
        lineage["id_copy"] = [("raw.users", "id", False, "IDENTITY")]
    src = dataset("raw.users", columns=["id", "email"])
    out = dataset("stg.users", lineage=lineage, wide=wide)
    return run_event("users", [src], [out], event_type=event_type, run_id=_rid(run), time=time)


def _apply_both_ways(make_user, django_capture_on_commit_callbacks, caplog, first: list[dict], second: list[dict]):
    """Apply ``second`` as one batch (rolled back) and one by one, after ``first``; return both states."""
    actor = make_user("service")
    with django_capture_on_commit_callbacks(execute=True):
        event_ingest_batch(payloads=first, actor=actor)
    with transaction.atomic():
        with caplog.at_level(logging.WARNING, logger="lineage.openlineage"), django_capture_on_commit_callbacks(execute=True):
            results = event_ingest_batch(payloads=second, actor=actor)
        assert "one by one" not in caplog.text  # the one-savepoint path applied it
        together = _state()
        transaction.set_rollback(True)
    reset_caches()
    one_by_one = []
    for payload in second:
        with django_capture_on_commit_callbacks(execute=True):
            one_by_one.append(event_ingest(payload=payload, actor=actor)["status"])
    assert [r["status"] for r in results] == one_by_one
    return together, _state()


def test_edges_replaced_created_and_closed_widened_within_one_batch_match_one_by_one(
    make_user, django_capture_on_commit_callbacks, caplog
):
    first = [_load(1, "2025-03-01T01:00:00Z", email_masked=False)]
    second = [
        _load(2, "2025-03-01T02:00:00Z", email_masked=True),  # email's edge now masks: old row closed, new one opened
        _load(3, "2025-03-01T03:00:00Z", email_masked=True, extra=True, event_type="START"),  # a new column edge ...
        _load(3, "2025-03-01T03:05:00Z", email_masked=True),  # ... closed again by the same batch
        _load(0, "2025-03-01T00:30:00Z", email_masked=False),  # late and older: widens the closed and current rows
        _load(1, "2025-03-01T01:20:00Z", email_masked=True, event_type="FAIL"),  # a run stored before moves on
    ]

    together, one_by_one = _apply_both_ways(make_user, django_capture_on_commit_callbacks, caplog, first, second)

    assert together == one_by_one
    edges = [e for e in together["edges"] if e[0] == "derives"]
    assert ("derives", "raw.users.id", "stg.users.id_copy") in {e[:3] for e in edges if e[6] != "None"}  # created, closed
    widened = {(e[2], e[4]): e[5][:16] for e in edges if e[6] == "None"}  # current rows' valid_from, moved earlier
    assert widened == {("stg.users.id", False): "2025-03-01 00:30", ("stg.users.email", True): "2025-03-01 01:20"}
    assert ("users", "FAIL") in {(r[1], r[2]) for r in together["runs"]}


def _steady(n_runs: int, first_run: int) -> list[dict]:
    events = []
    for i in range(n_runs):
        time = f"2025-04-01T{i % 24:02d}:{i % 60:02d}"
        events.append(_load(first_run + i, f"{time}:00Z", email_masked=True, event_type="START"))
        events.append(_load(first_run + i, f"{time}:30Z", email_masked=True))
    return events


def test_a_batch_costs_the_same_queries_however_many_events_it_holds(make_user, django_capture_on_commit_callbacks):
    actor = make_user("service")
    with django_capture_on_commit_callbacks(execute=True):
        event_ingest_batch(payloads=_steady(2, 100), actor=actor)  # registers datasets, columns, job and edges
    counts = []
    for n_runs, first_run in ((3, 200), (30, 300)):
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            results = event_ingest_batch(payloads=_steady(n_runs, first_run), actor=actor)
        assert {r["status"] for r in results} == {"applied"}
        counts.append(len(queries))
    # Runs inserted and edges refreshed with one statement each, whatever the batch size.
    assert counts[0] == counts[1]
    assert Run.objects.filter(state="COMPLETE").count() == 35


def test_dataset_wide_edges_created_refreshed_and_closed_within_one_batch_match_one_by_one(
    make_user, django_capture_on_commit_callbacks, caplog
):
    active = [("raw.users", "active", "FILTER")]
    first = [_load(1, "2025-04-01T01:00:00Z", email_masked=False, wide=active)]
    second = [
        _load(2, "2025-04-01T02:00:00Z", email_masked=False, wide=active),  # seen again: refreshed
        _load(3, "2025-04-01T03:00:00Z", email_masked=False, wide=[*active, ("raw.users", "region", "JOIN")]),  # one more
        _load(4, "2025-04-01T04:00:00Z", email_masked=False),  # no dataset-wide inputs: all of them close
    ]

    together, one_by_one = _apply_both_ways(make_user, django_capture_on_commit_callbacks, caplog, first, second)

    assert together == one_by_one
    wide = {(e[1], e[2], e[3], e[6][:16]) for e in together["edges"] if e[-1] == "INDIRECT"}
    assert wide == {
        ("raw.users.active", "stg.users.id", "FILTER", "2025-04-01 04:00"),
        ("raw.users.active", "stg.users.email", "FILTER", "2025-04-01 04:00"),
        ("raw.users.region", "stg.users.id", "JOIN", "2025-04-01 04:00"),
        ("raw.users.region", "stg.users.email", "JOIN", "2025-04-01 04:00"),
    }


def _fan(n_jobs: int, first_run: int) -> list[dict]:
    """One COMPLETE run per job, each job reading its own source and writing its own output."""
    events = []
    for j in range(n_jobs):
        src = dataset(f"raw.fan_{j}", columns=["id", "email"])
        out = dataset(f"stg.fan_{j}", lineage={"id": [(f"raw.fan_{j}", "id", False, "IDENTITY")]})
        events.append(run_event(f"fan_{j}", [src], [out], run_id=_rid(first_run + j), time=f"2025-05-01T01:{j % 60:02d}:00Z"))
    return events


def test_a_new_process_resolves_a_batchs_known_datasets_and_jobs_in_bulk(make_user, django_capture_on_commit_callbacks):
    """A worker that has not seen a batch's datasets and jobs yet (a new or recycled server process,
    another worker's producer) resolves them with a few queries for the whole batch, not a few per
    dataset and job: the same number of queries for 2 jobs (4 datasets) as for 12 (24)."""
    actor = make_user("service")
    with django_capture_on_commit_callbacks(execute=True):
        event_ingest_batch(payloads=_fan(12, 1000), actor=actor)  # registers everything
    counts = []
    for n_jobs, first_run in ((2, 2000), (12, 3000)):
        reset_caches()  # as a process that never saw these names
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            results = event_ingest_batch(payloads=_fan(n_jobs, first_run), actor=actor)
        assert {r["status"] for r in results} == {"applied"}
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert DataAsset.objects.filter(qualified_name__startswith="raw.fan_").count() == 12  # nothing registered twice
    assert Job.objects.filter(name__startswith="fan_").count() == 12
    assert Run.objects.filter(job__name__startswith="fan_").count() == 26


def _fan_changed(n_jobs: int, first_run: int) -> list[dict]:
    """:func:`_fan` with a new value of a job facet and a dataset facet in every event."""
    events = _fan(n_jobs, first_run)
    for event in events:
        event["job"]["facets"]["custom"] = facet(round=first_run)
        for ds in [*event["inputs"], *event["outputs"]]:
            ds["facets"]["custom"] = facet(round=first_run)
    return events


def test_facets_that_changed_are_written_once_per_batch_whatever_its_size(make_user, django_capture_on_commit_callbacks):
    """Every job and dataset of a batch carrying a changed facet (another producer's facets, a new
    schema version): the rows are written with one UPDATE each kind, not one per job and dataset."""
    actor = make_user("service")
    with django_capture_on_commit_callbacks(execute=True):
        event_ingest_batch(payloads=_fan(12, 1000), actor=actor)
    counts = []
    for n_jobs, first_run in ((2, 2000), (12, 3000)):
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            results = event_ingest_batch(payloads=_fan_changed(n_jobs, first_run), actor=actor)
        assert {r["status"] for r in results} == {"applied"}
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    rounds = {r.asset.qualified_name: r.facets["custom"]["round"] for r in DatasetFacets.objects.select_related("asset")}
    assert rounds == {**{f"raw.fan_{j}": 3000 for j in range(12)}, **{f"stg.fan_{j}": 3000 for j in range(12)}}
    assert {j.facets["custom"]["round"] for j in Job.objects.filter(name__startswith="fan_")} == {3000}
    assert all(j.facet_times["custom"].startswith("2025-05-01") for j in Job.objects.filter(name__startswith="fan_"))


def test_changed_facets_within_one_batch_match_one_by_one(make_user, django_capture_on_commit_callbacks, caplog):
    first = _fan(3, 1000)
    second = [*_fan_changed(3, 2000), *_fan_changed(2, 2100)]  # two jobs change twice in the batch
    second[-1]["job"]["facets"]["sql"] = facet(query="INSERT INTO stg.fan_1 SELECT ...")

    together, one_by_one = _apply_both_ways(make_user, django_capture_on_commit_callbacks, caplog, first, second)

    assert together == one_by_one
